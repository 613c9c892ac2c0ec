/// Server and client messages are untrusted text: before one is stored in the checkpoint or the
/// rejects file, any run of 12 or more digits (spaces and dashes allowed between them, as in a
/// card number) is masked with ORCA's `allButFirstSixLastFour`.
enum MessageRedaction {
    static func redact(_ message: String) -> String {
        let characters = Array(message)
        var out = ""
        out.reserveCapacity(message.utf8.count)
        var index = 0
        while index < characters.count {
            guard characters[index].isASCII, characters[index].isNumber else {
                out.append(characters[index])
                index += 1
                continue
            }
            // The longest run of digits, spaces and dashes that starts and ends with a digit.
            var end = index
            var lastDigit = index
            var digits = 0
            while end < characters.count, characters[end].isASCII, characters[end].isNumber || characters[end] == " " || characters[end] == "-" {
                if characters[end].isNumber {
                    digits += 1
                    lastDigit = end
                }
                end += 1
            }
            let run = String(characters[index...lastDigit])
            out += digits >= 12 ? MaskingPattern.allButFirstSixLastFour.apply(to: run.filter(\.isNumber)) : run
            index = lastDigit + 1
        }
        return out
    }
}

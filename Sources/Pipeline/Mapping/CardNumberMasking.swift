/// Masks anything in a text that looks like a card number, with an ORCA masking pattern.
///
/// Every text that leaves the process or reaches the disk (log lines, error messages, the
/// rejects file, the report, server messages kept in the checkpoint) passes through this: a run
/// of 12 or more digits, with spaces or dashes allowed between them as in a printed card number,
/// is replaced by its digits masked with `pattern`. Shorter numbers (error codes, counts, dates)
/// are left alone.
public struct CardNumberMasking: Sendable, Hashable {
    public var pattern: MaskingPattern

    public init(pattern: MaskingPattern = .allButFirstSixLastFour) {
        self.pattern = pattern
    }

    /// The shortest digit run treated as a card number (PANs have 12 to 19 digits).
    public static let minimumDigits = 12

    public func mask(_ text: String) -> String {
        // Most texts have no long digit run: count digits first and return them untouched.
        var digits = 0
        for byte in text.utf8 where byte &- UInt8(ascii: "0") < 10 { digits += 1 }
        guard digits >= Self.minimumDigits else { return text }
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            guard Self.isDigit(bytes[index]) else {
                out.append(bytes[index])
                index += 1
                continue
            }
            // The longest run of digits, spaces and dashes that starts and ends with a digit.
            var end = index
            var lastDigit = index
            var runDigits: [UInt8] = []
            while end < bytes.count, Self.isDigit(bytes[end]) || bytes[end] == UInt8(ascii: " ") || bytes[end] == UInt8(ascii: "-") {
                if Self.isDigit(bytes[end]) {
                    runDigits.append(bytes[end])
                    lastDigit = end
                }
                end += 1
            }
            if runDigits.count >= Self.minimumDigits {
                out += pattern.apply(to: String(decoding: runDigits, as: UTF8.self)).utf8
            } else {
                out += bytes[index...lastDigit]
            }
            index = lastDigit + 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `text` masked as by ``mask(_:)``, and then every occurrence of one of `values` (a record's
    /// own mapped values, 3 characters or more, standing as a word of their own) masked entirely:
    /// for messages from the service, which may quote a CVV or an expiry date.
    public func mask(_ text: String, values: [String]) -> String {
        var out = mask(text)
        for value in values where value.count >= 3 && Self.appears(value, in: out) {
            out = Self.replaceWords(value, in: out, with: MaskingPattern.all.apply(to: value))
        }
        return out
    }

    /// Whether `word` occurs in `text`. ASCII in both (card data, and the service's messages):
    /// a byte search, where canonical equivalence is byte equality; else Foundation's search,
    /// which `replaceWords` uses too. (Foundation's search costs far more than a byte search,
    /// and every reject's every value is searched for.)
    static func appears(_ word: String, in text: String) -> Bool {
        var (word, text) = (word, text)
        let answer = word.withUTF8 { needle in
            text.withUTF8 { haystack -> Bool? in
                guard needle.allSatisfy({ $0 < 0x80 }), haystack.allSatisfy({ $0 < 0x80 }) else { return nil }
                guard !needle.isEmpty else { return true }
                guard haystack.count >= needle.count else { return false }
                let first = needle[0]
                for start in 0...(haystack.count - needle.count) where haystack[start] == first {
                    if (1..<needle.count).allSatisfy({ haystack[start + $0] == needle[$0] }) { return true }
                }
                return false
            }
        }
        return answer ?? text.contains(word)
    }

    static func replaceWords(_ word: String, in text: String, with replacement: String) -> String {
        var result = ""
        var rest = text[...]
        while let range = rest.range(of: word) {
            let before = range.lowerBound == rest.startIndex ? result.last : rest[rest.index(before: range.lowerBound)]
            let after = range.upperBound == rest.endIndex ? nil : rest[range.upperBound]
            let standsAlone = !(before.map { $0.isLetter || $0.isNumber } ?? false) && !(after.map { $0.isLetter || $0.isNumber } ?? false)
            result += rest[..<range.lowerBound]
            result += standsAlone ? replacement : String(rest[range])
            rest = rest[range.upperBound...]
        }
        return result + rest
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }
}

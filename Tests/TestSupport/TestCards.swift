/// Generated test card numbers: Luhn-valid, 16 digits, `prefix` + the index padded to 9 digits +
/// the check digit. Never a real card's number pattern in a test name or log line.
public enum TestCards {
    public static func pan(_ index: Int, prefix: String = "400000") -> String {
        let body = String(index % 1_000_000_000)
        return appendingCheckDigit(to: prefix + String(repeating: "0", count: 9 - body.count) + body)
    }

    /// `digits` followed by its Luhn check digit.
    public static func appendingCheckDigit(to digits: String) -> String {
        var sum = 0
        for (offset, character) in digits.reversed().enumerated() {
            var digit = Int(character.asciiValue! - 48)
            if offset % 2 == 0 {
                digit *= 2
                if digit > 9 { digit -= 9 }
            }
            sum += digit
        }
        return digits + String((10 - sum % 10) % 10)
    }

    /// A CSV of `rows` records: `id,card_number,card_exp`.
    public static func csv(rows: Int, prefix: String = "400000") -> String {
        var text = "id,card_number,card_exp\n"
        text.reserveCapacity(rows * 32)
        for row in 0..<rows { text += "\(row),\(pan(row + 1, prefix: prefix)),1228\n" }
        return text
    }
}

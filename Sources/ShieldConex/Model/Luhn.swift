/// The Luhn (mod 10) check used by card numbers.
public enum Luhn {
    /// Whether `digits` (ASCII digits only) passes the Luhn check.
    public static func isValid(_ digits: some StringProtocol) -> Bool {
        guard !digits.isEmpty, digits.utf8.allSatisfy({ (48...57).contains($0) }) else { return false }
        return sum(digits.utf8.reversed(), doublingOdd: true) % 10 == 0
    }

    /// `digits` followed by the check digit that makes the whole pass the Luhn check.
    public static func appendingCheckDigit(to digits: String) -> String {
        let total = sum(digits.utf8.reversed(), doublingOdd: false)
        return digits + String((10 - total % 10) % 10)
    }

    /// Luhn sum over digits given right to left; `doublingOdd` says whether positions 1, 3, ...
    /// (true: the check digit is included) or 0, 2, ... (false: it is still to come) are doubled.
    private static func sum(_ reversed: some Sequence<UInt8>, doublingOdd: Bool) -> Int {
        var total = 0
        for (offset, byte) in reversed.enumerated() {
            let digit = Int(byte) - 48
            if (offset % 2 == 1) == doublingOdd {
                let doubled = digit * 2
                total += doubled > 9 ? doubled - 9 : doubled
            } else {
                total += digit
            }
        }
        return total
    }
}

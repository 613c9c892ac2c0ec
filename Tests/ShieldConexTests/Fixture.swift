import Foundation
import NIOCore

/// The spec's sample messages, copied verbatim into `Fixtures/`.
enum Fixture {
    static func text(_ name: String) throws -> String {
        guard let url = Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures") else {
            throw FixtureError(description: "missing fixture \(name)")
        }
        return try String(contentsOf: url, encoding: .utf8)
    }

    static func buffer(_ name: String) throws -> ByteBuffer {
        ByteBuffer(string: try text(name))
    }

    /// The fixture parsed by Foundation, for field-by-field comparison.
    static func object(_ name: String) throws -> NSDictionary {
        try JSONSerialization.jsonObject(with: Data(text(name).utf8)) as! NSDictionary
    }

    struct FixtureError: Error, CustomStringConvertible {
        var description: String
    }
}

/// Luhn-valid test card numbers, generated rather than written down.
enum TestPAN {
    /// A 16-digit Luhn-valid number with the given 6-digit prefix, varied by `index`.
    static func make(_ index: Int, prefix: String = "400000") -> String {
        var digits = Array(prefix).map { Int(String($0))! }
        var value = index
        while digits.count < 15 {
            digits.append(value % 10)
            value /= 10
        }
        // Luhn check digit over the first 15 digits.
        var sum = 0
        for (offset, digit) in digits.reversed().enumerated() {
            if offset % 2 == 0 {
                let doubled = digit * 2
                sum += doubled > 9 ? doubled - 9 : doubled
            } else {
                sum += digit
            }
        }
        digits.append((10 - sum % 10) % 10)
        return digits.map(String.init).joined()
    }

    static func isLuhnValid(_ number: String) -> Bool {
        let digits = number.compactMap { $0.wholeNumberValue }
        var sum = 0
        for (offset, digit) in digits.reversed().enumerated() {
            if offset % 2 == 1 {
                let doubled = digit * 2
                sum += doubled > 9 ? doubled - 9 : doubled
            } else {
                sum += digit
            }
        }
        return sum % 10 == 0
    }
}

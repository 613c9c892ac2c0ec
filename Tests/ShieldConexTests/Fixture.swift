import Foundation
import NIOCore
import ShieldConex
import TestSupport

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
        TestCards.pan(index, prefix: prefix)
    }

    static func isLuhnValid(_ number: String) -> Bool { Luhn.isValid(number) }
}

import Crypto

/// Format-preserving, deterministic and reversible tokens for one template field.
///
/// A 256-byte keystream is derived once per (template, field) with HMAC-SHA256 under the
/// simulator's secret. Each transformed character `x` (a digit, or a letter within its case)
/// becomes `(x + k + c) mod radix`, where `k` is in `1..<radix` and `c` is the previous
/// plaintext character's index (0 for the first). So the same value always gives the same
/// token (token idempotency), a token can be mapped back without storing anything, and the
/// first transformed character always changes, so a token never equals its plaintext.
/// This is a simulator's cipher: deterministic and format-preserving, not a security boundary.
public struct TokenCipher: Sendable, Hashable {
    private let keystream: [UInt8]
    public let kind: Template.FieldKind

    public init(secret: SymmetricKey, templateRef: String, field: String, kind: Template.FieldKind) {
        var stream: [UInt8] = []
        stream.reserveCapacity(256)
        var block: UInt8 = 0
        while stream.count < 256 {
            var mac = HMAC<SHA256>(key: secret)
            mac.update(data: Array("token|\(templateRef)|\(field)|".utf8) + [block])
            stream.append(contentsOf: mac.finalize())
            block += 1
        }
        self.keystream = stream
        self.kind = kind
    }

    /// The token of `value`, or `nil` if the value does not fit the field kind.
    public func tokenize(_ value: String) -> String? {
        transform(value, forward: true)
    }

    /// The plaintext of `token`, or `nil` if the token does not fit the field kind.
    public func detokenize(_ token: String) -> String? {
        transform(token, forward: false)
    }

    private enum CharacterClass {
        case digit, lower, upper

        init?(_ byte: UInt8) {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): self = .digit
            case UInt8(ascii: "a")...UInt8(ascii: "z"): self = .lower
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): self = .upper
            default: return nil
            }
        }

        var base: UInt8 {
            switch self {
            case .digit: UInt8(ascii: "0")
            case .lower: UInt8(ascii: "a")
            case .upper: UInt8(ascii: "A")
            }
        }

        var radix: Int { self == .digit ? 10 : 26 }
    }

    private func transform(_ input: String, forward: Bool) -> String? {
        var bytes = Array(input.utf8)
        let range: Range<Int>
        switch kind {
        case .cardNumber:
            guard (12...19).contains(bytes.count), bytes.allSatisfy({ CharacterClass($0) == .digit }) else { return nil }
            range = 6..<(bytes.count - 4)
        case .digits:
            guard !bytes.isEmpty, bytes.allSatisfy({ CharacterClass($0) == .digit }) else { return nil }
            range = 0..<bytes.count
        case .alphanumeric:
            guard !bytes.isEmpty, bytes.allSatisfy({ CharacterClass($0) != nil }) else { return nil }
            range = 0..<bytes.count
        case .text:
            guard bytes.contains(where: { CharacterClass($0) != nil }) else { return nil }
            range = 0..<bytes.count
        }
        var ordinal = 0
        var previousPlain = 0
        for position in range {
            guard let characterClass = CharacterClass(bytes[position]) else { continue }
            let radix = characterClass.radix
            let key = 1 + Int(keystream[ordinal % keystream.count]) % (radix - 1)
            let chain = ordinal == 0 ? 0 : previousPlain % radix
            let index = Int(bytes[position] - characterClass.base)
            let output: Int
            if forward {
                output = (index + key + chain) % radix
                previousPlain = index
            } else {
                output = ((index - key - chain) % radix + 2 * radix) % radix
                previousPlain = output
            }
            bytes[position] = characterClass.base + UInt8(output)
            ordinal += 1
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

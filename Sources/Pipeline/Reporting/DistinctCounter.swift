import Foundation

/// How many distinct values a stream of hashes holds, in bounded memory: exactly while there are
/// at most `exactLimit` of them (a set of the hashes), then estimated by HyperLogLog (2^16
/// one-byte registers, kept from the start: a standard error of about 0.4%). The hashes are of
/// keyed digests, never of plaintext held anywhere.
public struct DistinctCounter: Sendable {
    private static let precision = 16
    private static let registerCount = 1 << precision
    private let exactLimit: Int
    private var exact: Set<UInt64>? = []
    private var registers = [UInt8](repeating: 0, count: registerCount)

    public init(exactLimit: Int = 250_000) {
        self.exactLimit = exactLimit
    }

    /// Counts one value by its hash (well mixed: a keyed digest's).
    public mutating func add(_ hash: UInt64) {
        let index = Int(hash >> UInt64(64 - Self.precision))
        // The rank of the first set bit of the rest (the top bits taken out), 1-based; all zero:
        // one more than the rest's width.
        let rest = hash << UInt64(Self.precision)
        let rank = UInt8(min(rest.leadingZeroBitCount, 64 - Self.precision) + 1)
        if rank > registers[index] { registers[index] = rank }
        if exact != nil {
            exact!.insert(hash)
            if exact!.count > exactLimit { exact = nil }
        }
    }

    /// Whether ``count`` is an estimate (more distinct values than the exact limit).
    public var isEstimate: Bool { exact == nil }

    /// The distinct values counted: exact, or HyperLogLog's estimate (linear counting while
    /// registers are still empty enough).
    public var count: Int {
        if let exact { return exact.count }
        let m = Double(Self.registerCount)
        var sum = 0.0
        var zeros = 0
        for register in registers {
            sum += 1 / Double(UInt64(1) << UInt64(register))
            if register == 0 { zeros += 1 }
        }
        let alpha = 0.7213 / (1 + 1.079 / m)
        var estimate = alpha * m * m / sum
        if estimate <= 2.5 * m && zeros > 0 { estimate = m * log(m / Double(zeros)) }
        return Int(estimate.rounded())
    }
}

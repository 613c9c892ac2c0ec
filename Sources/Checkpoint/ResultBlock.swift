/// A batch of results as one row of the checkpoint: storing a result costs a share of one row
/// insert, not a row insert of its own (the figures are in Benchmarks/README.md).
///
/// Two byte strings, kept apart so that the tokens can be dropped once the records they belong
/// to are committed while the rest (the audit trail: status, bfid, messageId, error) stays:
///
/// - `results`: a version byte (1), then per result: seq, status, attempts as varints; bfid,
///   messageId, errorCode, message and digest each as a varint `length + 1` (0: none) and their
///   bytes.
/// - `tokens`: a version byte (1), then per result in the same order: a varint token count and
///   each token as a varint length and its UTF-8 bytes (count 0: none, or dropped).
///
/// Decoding never traps: bytes this code did not write decode to `nil`, and the block's records
/// are then sent again (as a result that no longer fits its record is).
public struct ResultBlock: Sendable, Hashable {
    static let version: UInt8 = 1

    public var results: [UInt8]
    /// `nil` when no result of the block holds a token (or all were dropped).
    public var tokens: [UInt8]?
    public var firstSeq: Int
    public var lastSeq: Int
    public var count: Int

    public init(results: [UInt8], tokens: [UInt8]?, firstSeq: Int, lastSeq: Int, count: Int) {
        self.results = results
        self.tokens = tokens
        self.firstSeq = firstSeq
        self.lastSeq = lastSeq
        self.count = count
    }

    /// Encodes `results` (at least one) in the order given. The tokens and digests of results with
    /// a seq up to `tokensWrittenThrough` are left out (a token count of 0, as for dropped tokens;
    /// no digest): their output lines reached the file before this block is stored (see
    /// ``CheckpointStore/write(_:writtenThrough:)``), so no run renders them again or reuses them,
    /// and what stays is the audit trail.
    public init<C: Collection<RecordResult>>(encoding results: C, tokensWrittenThrough: Int = -1) {
        var bytes: [UInt8] = [Self.version]
        var tokens: [UInt8] = [Self.version]
        bytes.reserveCapacity(1 + results.count * 160)
        tokens.reserveCapacity(1 + results.count * 48)
        var first = Int.max
        var last = Int.min
        var anyToken = false
        for result in results {
            first = min(first, result.seq)
            last = max(last, result.seq)
            bytes.appendVarint(UInt64(bitPattern: Int64(result.seq)))
            bytes.appendVarint(UInt64(result.status.rawValue))
            bytes.appendVarint(UInt64(bitPattern: Int64(result.attempts)))
            // The texts are in the block's form already: bfid and messageId go here, the token
            // count and tokens to the tokens string.
            let split = result.texts.tokensStart
            let written = result.seq <= tokensWrittenThrough
            result.texts.bytes.withUnsafeBytes { texts in
                bytes.appendRaw(UnsafeRawBufferPointer(rebasing: texts[..<split]))
                if written {
                    tokens.append(0)
                } else if split < texts.count {
                    tokens.appendRaw(UnsafeRawBufferPointer(rebasing: texts[split...]))
                    anyToken = anyToken || texts[split] != 0
                } else {
                    tokens.append(0)  // texts that do not parse (never built so): no tokens
                }
            }
            bytes.appendOptional(result.errorCode)
            bytes.appendOptional(result.message)
            if !written, let digest = result.recordDigest {
                bytes.appendVarint(UInt64(digest.count) + 1)
                digest.append(to: &bytes)
            } else {
                bytes.append(0)
            }
        }
        self.init(results: bytes, tokens: anyToken ? tokens : nil, firstSeq: first, lastSeq: last, count: results.count)
    }

    /// The block's results in the order they were written; `nil` for damaged bytes.
    public func decoded() -> [RecordResult]? {
        var reader = ByteReader(results)
        var tokenReader = tokens.map { ByteReader($0) }
        guard reader.byte() == Self.version else { return nil }
        if tokenReader != nil {
            guard tokenReader!.byte() == Self.version else { return nil }
        }
        var decoded: [RecordResult] = []
        decoded.reserveCapacity(count)
        while !reader.atEnd {
            guard let seq = reader.varint(), let statusValue = reader.varint(), let attempts = reader.varint(),
                let status = RecordResult.Status(rawValue: Int(truncatingIfNeeded: statusValue)),
                let bfid = reader.optionalString(), let messageId = reader.optionalString(),
                let errorCode = reader.optionalString(), let message = reader.optionalString(), let digest = reader.optionalBytes()
            else { return nil }
            var tokens: [String] = []
            if tokenReader != nil {
                guard let read = tokenReader!.tokens() else { return nil }
                tokens = read
            }
            decoded.append(
                RecordResult(
                    seq: Int(truncatingIfNeeded: Int64(bitPattern: seq)), status: status, bfid: bfid, messageId: messageId, tokens: tokens,
                    errorCode: errorCode, message: message, attempts: Int(truncatingIfNeeded: Int64(bitPattern: attempts)), digest: digest
                )
            )
        }
        if let tokenReader, !tokenReader.atEnd { return nil }
        return decoded
    }

    /// Calls `body` with the seq, status and error code of each result, in order, without making
    /// strings; `false` for damaged bytes (`body` may have seen some results by then).
    func forEachOutcome(_ body: (_ seq: Int, _ status: UInt8, _ errorCode: ArraySlice<UInt8>?) -> Void) -> Bool {
        var reader = ByteReader(results)
        guard reader.byte() == Self.version else { return false }
        while !reader.atEnd {
            guard let seq = reader.varint(), let status = reader.varint(), reader.varint() != nil,
                reader.skipOptional(), reader.skipOptional(), let errorCode = reader.optionalSlice(),
                reader.skipOptional(), reader.skipOptional()
            else { return false }
            body(Int(truncatingIfNeeded: Int64(bitPattern: seq)), UInt8(truncatingIfNeeded: status), errorCode)
        }
        return true
    }

    /// The block's tokens with those of every seq up to `seq` dropped, made from the bytes (no
    /// result decoded, no string made): `.some(nil)` when none is left, `nil` for damaged bytes.
    func tokens(keepingAfter seq: Int) -> [UInt8]?? {
        guard let tokens else { return .some(nil) }
        var reader = ByteReader(results)
        var tokenReader = ByteReader(tokens)
        guard reader.byte() == Self.version, tokenReader.byte() == Self.version else { return nil }
        var kept: [UInt8] = [Self.version]
        kept.reserveCapacity(tokens.count)
        var anyToken = false
        while !reader.atEnd {
            guard let resultSeq = reader.varint(), reader.varint() != nil, reader.varint() != nil,
                reader.skipOptional(), reader.skipOptional(), reader.skipOptional(), reader.skipOptional(), reader.skipOptional()
            else { return nil }
            let start = tokenReader.offset
            guard let count = tokenReader.skipTokens() else { return nil }
            if Int(truncatingIfNeeded: Int64(bitPattern: resultSeq)) > seq && count > 0 {
                kept.append(contentsOf: tokens[start..<tokenReader.offset])
                anyToken = true
            } else {
                kept.append(0)
            }
        }
        guard tokenReader.atEnd else { return nil }
        return .some(anyToken ? kept : nil)
    }
}

extension [UInt8] {
    mutating func appendVarint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        append(UInt8(value))
    }

    mutating func appendOptional(_ text: String?) {
        guard let text else { return append(0) }
        appendVarint(UInt64(text.utf8.count) + 1)
        append(contentsOf: text.utf8)
    }

    mutating func appendOptional(bytes: [UInt8]?) {
        guard let bytes else { return append(0) }
        appendVarint(UInt64(bytes.count) + 1)
        append(contentsOf: bytes)
    }

    mutating func appendTokens(_ tokens: [String]) {
        appendVarint(UInt64(tokens.count))
        for token in tokens {
            appendVarint(UInt64(token.utf8.count))
            append(contentsOf: token.utf8)
        }
    }
}

/// Reads what the encoders above wrote; every read checks its bounds and answers `nil` past them.
struct ByteReader {
    private let bytes: [UInt8]
    private(set) var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { offset >= bytes.count }

    mutating func byte() -> UInt8? {
        guard offset < bytes.count else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func varint() -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while shift < 64 {
            guard let byte = byte() else { return nil }
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
        return nil
    }

    /// `length` bytes, or `nil` if fewer are left.
    mutating func take(_ length: UInt64) -> ArraySlice<UInt8>? {
        guard length <= UInt64(bytes.count - offset) else { return nil }
        let end = offset + Int(length)
        defer { offset = end }
        return bytes[offset..<end]
    }

    /// `.some(nil)` for an absent value, `nil` for damaged bytes.
    mutating func optionalSlice() -> ArraySlice<UInt8>?? {
        guard let marker = varint() else { return nil }
        if marker == 0 { return .some(nil) }
        guard let slice = take(marker - 1) else { return nil }
        return .some(slice)
    }

    mutating func skipOptional() -> Bool { optionalSlice() != nil }

    mutating func optionalBytes() -> [UInt8]?? { optionalSlice().map { $0.map(Array.init) } }

    mutating func optionalString() -> String?? {
        guard let marker = varint() else { return nil }
        if marker == 0 { return .some(nil) }
        guard let slice = take(marker - 1) else { return nil }
        return .some(String(decoding: slice, as: UTF8.self))
    }

    /// Passes over one result's tokens; their count, or `nil` for damaged bytes.
    mutating func skipTokens() -> UInt64? {
        guard let count = varint(), count <= UInt64(bytes.count - offset) else { return nil }
        for _ in 0..<count {
            guard let length = varint(), take(length) != nil else { return nil }
        }
        return count
    }

    mutating func tokens() -> [String]? {
        guard let count = varint(), count <= UInt64(bytes.count - offset) else { return nil }
        var tokens: [String] = []
        tokens.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let length = varint(), let slice = take(length) else { return nil }
            tokens.append(String(decoding: slice, as: UTF8.self))
        }
        return tokens
    }
}

/// Reads newline-delimited JSON: one object per line, blank lines skipped, in constant memory.
/// A line that is not a JSON object is returned as invalid with its number and line.
public struct NDJSONReader: RecordReader {
    private let file: ChunkedFileReader
    private let maxRecordBytes: Int
    private var index = 0
    public private(set) var nextPosition: RecordPosition

    /// A gzip file is inflated up to `position` from `member` when it is given (see ``GzipMember``).
    public init(path: String, from position: RecordPosition? = nil, maxRecordBytes: Int = 1 << 20, member: GzipMember? = nil) throws {
        let begin = position ?? RecordPosition(seq: 0, offset: 0, line: 1)
        file = try ChunkedFileReader(path: path, offset: begin.offset, member: member)
        nextPosition = begin
        self.maxRecordBytes = maxRecordBytes
    }

    /// Reads a stream (standard input) from its start, or (with `position`) from there, the
    /// bytes before it read and dropped.
    init(stream: ChunkedFileReader, from position: RecordPosition?, maxRecordBytes: Int = 1 << 20) throws {
        let begin = position ?? RecordPosition(seq: 0, offset: 0, line: 1)
        try stream.discard(upTo: begin.offset)
        file = stream
        nextPosition = begin
        self.maxRecordBytes = maxRecordBytes
    }

    public var compressedPosition: Int64? { file.compressedOffset }

    public func prefixDigest(through offset: Int64) -> String? { file.prefixDigest(through: offset) }

    public func stopDigesting() { file.stopDigesting() }

    public mutating func next() throws -> InputRecord? {
        do {
            return try readNext()
        } catch var error as CompressedInputError {
            error.record = nextPosition
            throw error
        }
    }

    private mutating func readNext() throws -> InputRecord? {
        while true {
            // Find the end of the line, sliding the window as needed.
            var lineEnd: Int?
            var searchFrom = index
            while lineEnd == nil {
                if let found = file.bytes[searchFrom..<file.count].firstIndex(of: 0x0A) {
                    lineEnd = found
                    break
                }
                if file.isAtEnd { break }
                if file.count - index > maxRecordBytes {
                    return try skipOversizedLine()
                }
                let consumed = index
                searchFrom = file.count - consumed
                _ = try file.refill(keepingFrom: consumed)
                index = 0
            }
            let start = index
            let end = lineEnd ?? file.count
            if start >= end, lineEnd == nil {
                file.shrinkIfIdle()
                return nil
            }
            let next = lineEnd.map { $0 + 1 } ?? end
            var contentEnd = end
            var ending: LineEnding = lineEnd == nil ? .none : .lf
            if ending == .none, file.isStream { throw file.endedInsideRecord() }
            if lineEnd != nil, contentEnd > start, file.bytes[contentEnd - 1] == 0x0D {
                contentEnd -= 1
                ending = .crlf
            }
            let position = RecordPosition(seq: nextPosition.seq, offset: file.base + Int64(start), line: nextPosition.line)
            index = next
            if file.bytes[start..<contentEnd].allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) {
                nextPosition = RecordPosition(seq: nextPosition.seq, offset: file.base + Int64(next), line: nextPosition.line + 1)
                continue
            }
            nextPosition = RecordPosition(seq: nextPosition.seq + 1, offset: file.base + Int64(next), line: nextPosition.line + 1)
            let bytes = Array(file.bytes[start..<contentEnd])
            let content: InputRecord.Content
            if !UTF8Validation.isValid(bytes) {
                content = .invalid(RecordError(.invalidUTF8, "the line is not valid UTF-8"))
            } else {
                do {
                    let node = try JSONNode.parse(bytes)
                    if case .object = node {
                        content = .json(node)
                    } else {
                        content = .invalid(RecordError(.notAnObject, "the line is JSON but not an object"))
                    }
                } catch {
                    content = .invalid(RecordError(.invalidJSON, "the line is not valid JSON (\(error))"))
                }
            }
            return InputRecord(position: position, bytes: bytes, ending: ending, content: content)
        }
    }

    /// A line longer than the limit is reported and skipped without holding it in memory.
    private mutating func skipOversizedLine() throws -> InputRecord? {
        let position = RecordPosition(seq: nextPosition.seq, offset: file.base + Int64(index), line: nextPosition.line)
        while true {
            if let found = file.bytes[index..<file.count].firstIndex(of: 0x0A) {
                index = found + 1
                break
            }
            if !(try file.refill(keepingFrom: file.count)) {
                index = file.count
                break
            }
            index = 0
        }
        nextPosition = RecordPosition(seq: nextPosition.seq + 1, offset: file.base + Int64(index), line: nextPosition.line + 1)
        return InputRecord(
            position: position, bytes: [], ending: .lf,
            content: .invalid(RecordError(.recordTooLarge, "the line is longer than \(maxRecordBytes) bytes"))
        )
    }
}

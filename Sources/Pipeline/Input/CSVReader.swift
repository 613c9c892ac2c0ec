/// Reads an RFC 4180 CSV file record by record in constant memory.
///
/// The first row is the header. Quoted fields may hold delimiters, doubled quotes and line
/// breaks; lines may end in LF or CRLF, mixed; a UTF-8 byte-order mark is skipped; blank lines
/// are skipped. A record with the wrong number of fields, a stray quote, an unterminated quote
/// or invalid UTF-8 is returned as invalid with its number and line, and reading goes on.
public struct CSVReader: RecordReader {
    /// A file that cannot be read as CSV at all: what is wrong (``kind``), and in words.
    public struct ConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
        public enum Kind: Sendable, Hashable {
            /// The file is empty or its first row is malformed.
            case noHeader
            /// The header row is not valid UTF-8.
            case headerNotUTF8
        }
        public var kind: Kind
        public var description: String
    }

    public let header: CSVHeader
    public let delimiter: UInt8
    private let file: ChunkedFileReader
    private let maxRecordBytes: Int
    private var index = 0
    public private(set) var nextPosition: RecordPosition
    /// Buffers of records already written (``recycle(_:)``), for the next records' bytes and
    /// fields: two allocations per record saved.
    private var spareLines: [[UInt8]] = []
    private var spareFields: [[CSVField]] = []

    /// Opens `path` and reads its header; with `position`, the next record returned is the one
    /// that starts there (a position from an earlier read of the same file).
    /// Without `hasHeader` the first row is data: the columns are named by position (`#1`, ...).
    /// A gzip file is inflated up to `position` from `member` when it is given (see ``GzipMember``).
    public init(
        path: String, delimiter: UInt8 = UInt8(ascii: ","), from position: RecordPosition? = nil, maxRecordBytes: Int = 1 << 20, hasHeader: Bool = true,
        member: GzipMember? = nil
    ) throws {
        self.delimiter = delimiter
        self.maxRecordBytes = maxRecordBytes
        // Read the header from the start of the file.
        let headerFile = try ChunkedFileReader(path: path, chunkSize: 64 * 1024)
        header = try Self.readHeader(headerFile, name: path, delimiter: delimiter, maxRecordBytes: maxRecordBytes, hasHeader: hasHeader)
        let begin = position ?? header.dataStart
        file = try ChunkedFileReader(path: path, offset: begin.offset, member: member)
        nextPosition = begin
    }

    /// Reads a stream (standard input, called `name`): its header, then on from there, or (with
    /// `position`) from there, the bytes before it read and dropped.
    init(
        stream: ChunkedFileReader, name: String, delimiter: UInt8, from position: RecordPosition?, maxRecordBytes: Int = 1 << 20, hasHeader: Bool
    ) throws {
        self.delimiter = delimiter
        self.maxRecordBytes = maxRecordBytes
        header = try Self.readHeader(stream, name: name, delimiter: delimiter, maxRecordBytes: maxRecordBytes, hasHeader: hasHeader)
        let begin = position ?? header.dataStart
        try stream.discard(upTo: begin.offset)
        file = stream
        nextPosition = begin
    }

    /// The header at the start of `headerFile` (which is left where it was read to).
    private static func readHeader(
        _ headerFile: ChunkedFileReader, name path: String, delimiter: UInt8, maxRecordBytes: Int, hasHeader: Bool
    ) throws -> CSVHeader {
        var scanner = Scanner(file: headerFile, delimiter: delimiter, maxRecordBytes: maxRecordBytes)
        var start = 0
        _ = try headerFile.refill(keepingFrom: 0)
        var hasBOM = false
        if headerFile.count >= 3, headerFile.bytes[0] == 0xEF, headerFile.bytes[1] == 0xBB, headerFile.bytes[2] == 0xBF {
            start = 3
            hasBOM = true
        }
        var line = 1
        var headerFields: [CSVField] = []
        var headerResult = try scanner.scan(from: &start, into: &headerFields)
        while case .blank(let next) = headerResult {
            start = next
            line += 1
            headerResult = try scanner.scan(from: &start, into: &headerFields)
        }
        guard case .record(let fields, let contentEnd, let next, let ending, let newlines) = headerResult else {
            throw ConfigurationError(kind: .noHeader, description: "\(path): no header row (the file is empty or its first row is malformed)")
        }
        let headerBytes = Array(headerFile.bytes[start..<contentEnd])
        let names = fields.map { field in
            CSVField(range: (field.range.lowerBound - start)..<(field.range.upperBound - start), quoted: field.quoted).value(in: headerBytes)
        }
        guard !hasHeader || String(validating: headerBytes, as: UTF8.self) != nil else {
            throw ConfigurationError(kind: .headerNotUTF8, description: "\(path): the header row is not valid UTF-8")
        }
        if hasHeader {
            let dataStart = RecordPosition(seq: 0, offset: headerFile.base + Int64(next), line: line + 1 + newlines)
            return CSVHeader(names: names, bytes: headerBytes, ending: ending == .none ? .lf : ending, dataStart: dataStart, hasByteOrderMark: hasBOM)
        }
        // The first row is the first record: it only says how many columns there are.
        let dataStart = RecordPosition(seq: 0, offset: headerFile.base + Int64(start), line: line)
        var synthesized = CSVHeader(
            names: names.indices.map { "#\($0 + 1)" }, bytes: [], ending: ending == .none ? .lf : ending, dataStart: dataStart, hasByteOrderMark: hasBOM
        )
        synthesized.isPresent = false
        return synthesized
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
        var scanner = Scanner(file: file, delimiter: delimiter, maxRecordBytes: maxRecordBytes, expectedFields: header.names.count)
        while true {
            var start = index
            var fields = spareFields.popLast() ?? []
            let result = try scanner.scan(from: &start, into: &fields)
            // The record's fields are then the result's alone.
            fields = []
            // `scan` may have slid the window; `start` is where this record begins in it now.
            let position = RecordPosition(seq: nextPosition.seq, offset: file.base + Int64(start), line: nextPosition.line)
            // Consumed: the fields array is then this code's alone and is rebased in place (kept
            // in `result` too, it would be copied).
            switch consume result {
            case .end:
                index = start
                file.shrinkIfIdle()
                return nil
            case .blank(let next):
                index = next
                nextPosition.offset = file.base + Int64(next)
                nextPosition.line += 1
            case .record(var relative, let contentEnd, let next, let ending, let newlines):
                if ending == .none, file.isStream { throw file.endedInsideRecord() }
                index = next
                advance(to: next, lines: 1 + newlines)
                var bytes = spareLines.popLast() ?? []
                bytes.removeAll(keepingCapacity: true)
                // Room for a longer record than this one: the buffer serves others after it.
                bytes.reserveCapacity(max(contentEnd - start, 256))
                file.bytes.withUnsafeBufferPointer { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: $0[start..<contentEnd])) }
                for index in relative.indices {
                    relative[index].range = (relative[index].range.lowerBound - start)..<(relative[index].range.upperBound - start)
                }
                let content: InputRecord.Content
                if relative.count != header.names.count {
                    content = .invalid(RecordError(.wrongFieldCount, "expected \(header.names.count) fields, found \(relative.count)"))
                } else if !UTF8Validation.isValid(bytes) {
                    content = .invalid(RecordError(.invalidUTF8, "the record is not valid UTF-8"))
                } else {
                    content = .csv(relative)
                }
                return InputRecord(position: position, bytes: bytes, ending: ending, content: content)
            case .malformed(let error, var next, let lines):
                let end = max(start, min(next, file.count))
                let endsLine = end > start && file.bytes[end - 1] == 0x0A
                if !endsLine, file.isAtEnd, next >= file.count, file.isStream { throw file.endedInsideRecord() }
                var bytes = Array(file.bytes[start..<min(end, start + maxRecordBytes)])
                while let last = bytes.last, last == 0x0A || last == 0x0D { bytes.removeLast() }
                if !endsLine && !file.isAtEnd && next >= file.count {
                    // Its first line goes on past the window: skip to its end in constant memory.
                    next = try skipToLineEnd()
                }
                index = next
                advance(to: next, lines: lines)
                return InputRecord(position: position, bytes: bytes, ending: .lf, content: .invalid(error))
            }
        }
    }

    /// Keeps a written record's buffers for the records read next (a few, and only small ones).
    public mutating func recycle(_ record: InputRecord) {
        if spareLines.count < 512, record.bytes.capacity <= 4096 { spareLines.append(record.bytes) }
        if spareFields.count < 512, case .csv(let fields) = record.content, fields.capacity <= 256 { spareFields.append(fields) }
    }

    /// Drops the window and reads on to the next line feed; returns the index after it (or the
    /// end of the file).
    private mutating func skipToLineEnd() throws -> Int {
        while true {
            _ = try file.refill(keepingFrom: file.count)
            if let lineFeed = file.bytes[0..<file.count].firstIndex(of: 0x0A) { return lineFeed + 1 }
            if file.isAtEnd { return file.count }
        }
    }

    private mutating func advance(to next: Int, lines: Int) {
        nextPosition = RecordPosition(seq: nextPosition.seq + 1, offset: file.base + Int64(next), line: nextPosition.line + lines)
    }
}

import Checkpoint

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Opens an input file in its format, from the start or from a known position.
public enum InputSource {
    /// The path that names standard input.
    public static let standardInput = "-"

    /// `path` `-` reads standard input as a stream (``ChunkedFileReader/init(stream:name:digest:chunkSize:)``),
    /// digested with `digestKey` (called `name` in messages).
    public static func open(
        path: String, format: InputFormat, delimiter: UInt8 = UInt8(ascii: ","), from position: RecordPosition? = nil, hasHeader: Bool = true,
        streamName: String? = nil, digestKey: DigestKey = .local, member: GzipMember? = nil
    ) throws -> (reader: any RecordReader, header: CSVHeader?) {
        if path == standardInput {
            let name = streamName ?? "standard input"
            let stream = try ChunkedFileReader(stream: dup(STDIN_FILENO), name: name, digest: digestKey.streamDigest())
            switch format {
            case .csv:
                let reader = try CSVReader(stream: stream, name: name, delimiter: delimiter, from: position, hasHeader: hasHeader)
                return (reader, reader.header)
            case .ndjson:
                return (try NDJSONReader(stream: stream, from: position), nil)
            }
        }
        switch format {
        case .csv:
            let reader = try CSVReader(path: path, delimiter: delimiter, from: position, hasHeader: hasHeader, member: member)
            return (reader, reader.header)
        case .ndjson:
            return (try NDJSONReader(path: path, from: position, member: member), nil)
        }
    }
}

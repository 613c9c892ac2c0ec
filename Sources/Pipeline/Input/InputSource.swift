/// Opens an input file in its format, from the start or from a known position.
public enum InputSource {
    public static func open(
        path: String, format: InputFormat, delimiter: UInt8 = UInt8(ascii: ","), from position: RecordPosition? = nil, hasHeader: Bool = true
    ) throws -> (reader: any RecordReader, header: CSVHeader?) {
        switch format {
        case .csv:
            let reader = try CSVReader(path: path, delimiter: delimiter, from: position, hasHeader: hasHeader)
            return (reader, reader.header)
        case .ndjson:
            return (try NDJSONReader(path: path, from: position), nil)
        }
    }
}

/// Renders lines of the rejects file (CSV): record number, line number, the record's id if an id
/// column is configured, error code and message. Never the sensitive values themselves.
public struct RejectsRenderer: Sendable {
    public static let headerLine: [UInt8] = Array("record,line,id,error_code,message\n".utf8)

    public init() {}

    public func render(record: Int, line: Int, id: String?, code: String, message: String, into out: inout [UInt8]) {
        out.append(contentsOf: String(record).utf8)
        out.append(UInt8(ascii: ","))
        out.append(contentsOf: String(line).utf8)
        out.append(UInt8(ascii: ","))
        CSVEncoding.append(id ?? "", quoted: false, delimiter: UInt8(ascii: ","), to: &out)
        out.append(UInt8(ascii: ","))
        CSVEncoding.append(code, quoted: false, delimiter: UInt8(ascii: ","), to: &out)
        out.append(UInt8(ascii: ","))
        CSVEncoding.append(message, quoted: false, delimiter: UInt8(ascii: ","), to: &out)
        out.append(0x0A)
    }
}

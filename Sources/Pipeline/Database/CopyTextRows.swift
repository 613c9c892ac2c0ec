/// Output lines as rows of `COPY`'s text format (a tab between columns, `\N` a NULL, a backslash,
/// tab or line break inside a value escaped), for the staging table.
enum CopyTextRows {
    /// JSON lines (one column): only a backslash is escaped (JSON's own control characters are
    /// escaped already; a line holds no tab or line break).
    static func appendJSON(_ lines: ArraySlice<UInt8>, to out: inout [UInt8]) {
        out.reserveCapacity(out.count + lines.count + lines.count / 16)
        for byte in lines {
            if byte == UInt8(ascii: "\\") { out.append(byte) }
            out.append(byte)
        }
    }

    /// CSV lines (RFC 4180, a comma between fields, each line ended by a line feed): an empty
    /// unquoted field is a NULL, `""` an empty string (COPY's own CSV convention).
    static func appendCSV(_ lines: ArraySlice<UInt8>, to out: inout [UInt8]) {
        out.reserveCapacity(out.count + lines.count + lines.count / 16)
        var inQuotes = false
        var quoted = false
        var empty = true
        var index = lines.startIndex
        while index < lines.endIndex {
            let byte = lines[index]
            index += 1
            if inQuotes {
                if byte == UInt8(ascii: "\"") {
                    if index < lines.endIndex, lines[index] == UInt8(ascii: "\"") {
                        out.append(byte)
                        index += 1
                    } else {
                        inQuotes = false
                    }
                } else {
                    appendEscaped(byte, to: &out)
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                inQuotes = true
                quoted = true
                empty = false
            case UInt8(ascii: ","), 0x0A:
                if empty && !quoted {
                    out.append(UInt8(ascii: "\\"))
                    out.append(UInt8(ascii: "N"))
                }
                out.append(byte == 0x0A ? 0x0A : 0x09)
                (quoted, empty) = (false, true)
            case 0x0D where index < lines.endIndex && lines[index] == 0x0A:
                // A CRLF ending: the line feed ends the row.
                break
            default:
                appendEscaped(byte, to: &out)
                empty = false
            }
        }
    }

    private static func appendEscaped(_ byte: UInt8, to out: inout [UInt8]) {
        switch byte {
        case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
        case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
        case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
        case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
        default: out.append(byte)
        }
    }
}

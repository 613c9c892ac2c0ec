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
    /// unquoted field is a NULL, `""` an empty string (COPY's own CSV convention). Runs of bytes
    /// that need nothing are copied at once (a byte at a time, this was 3% of a table run's CPU).
    static func appendCSV(_ lines: ArraySlice<UInt8>, to out: inout [UInt8]) {
        out.reserveCapacity(out.count + lines.count + lines.count / 16)
        lines.withUnsafeBufferPointer { bytes in
            var inQuotes = false
            var quoted = false
            var empty = true
            var index = 0
            let end = bytes.count
            while index < end {
                var run = index
                while run < end, !isSpecial(bytes[run]) { run += 1 }
                if run > index {
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[index..<run]))
                    if !inQuotes { empty = false }
                    index = run
                    continue
                }
                let byte = bytes[index]
                index += 1
                if inQuotes {
                    if byte == UInt8(ascii: "\"") {
                        if index < end, bytes[index] == UInt8(ascii: "\"") {
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
                case 0x0D where index < end && bytes[index] == 0x0A:
                    // A CRLF ending: the line feed ends the row.
                    break
                default:
                    appendEscaped(byte, to: &out)
                    empty = false
                }
            }
        }
    }

    /// A byte that ends a run: a quote, a separator, or one that COPY's text format escapes.
    @inline(__always)
    private static func isSpecial(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: ","), UInt8(ascii: "\\"), 0x09, 0x0A, 0x0D: true
        default: false
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

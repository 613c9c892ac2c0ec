extension CSVReader {
    /// The record scanner over the sliding window.
    struct Scanner {
        enum Result {
            case end
            /// An empty line; the next record starts at the index given.
            case blank(next: Int)
            /// Field ranges are window indices; `contentEnd` excludes the line break, `next` follows it.
            case record(fields: [CSVField], contentEnd: Int, next: Int, ending: LineEnding, newlines: Int)
            case malformed(RecordError, next: Int, lines: Int)
        }

        let file: ChunkedFileReader
        let delimiter: UInt8
        let maxRecordBytes: Int
        var expectedFields = 8
        static let quote = UInt8(ascii: "\"")
        static let lf: UInt8 = 0x0A
        static let cr: UInt8 = 0x0D

        /// Scans one record starting at `start`, its fields into `fields` (emptied first, its
        /// capacity kept). When the window must slide, `start` is updated.
        mutating func scan(from start: inout Int, into fields: inout [CSVField]) throws -> Result {
            while true {
                switch scanOnce(from: start, into: &fields) {
                case .needMore:
                    _ = try file.refill(keepingFrom: start)
                    start = 0
                case .done(let result):
                    return result
                }
            }
        }

        enum Step {
            case needMore
            case done(Result)
        }

        func scanOnce(from start: Int, into fields: inout [CSVField]) -> Step {
            let bytes = file.bytes
            let count = file.count
            let atEnd = file.isAtEnd
            if start >= count { return atEnd ? .done(.end) : .needMore }
            // Blank line.
            if bytes[start] == Self.lf { return .done(.blank(next: start + 1)) }
            if bytes[start] == Self.cr {
                if start + 1 >= count { return atEnd ? .done(.blank(next: start + 1)) : .needMore }
                if bytes[start + 1] == Self.lf { return .done(.blank(next: start + 2)) }
            }
            fields.removeAll(keepingCapacity: true)
            fields.reserveCapacity(expectedFields)
            var i = start
            var newlines = 0
            while true {
                if i - start > maxRecordBytes {
                    return .done(resync(start: start, error: RecordError(.recordTooLarge, "the record is longer than \(maxRecordBytes) bytes"), bytes: bytes, count: count))
                }
                let fieldStart = i
                if i < count, bytes[i] == Self.quote {
                    // Quoted field.
                    var j = i + 1
                    while true {
                        if j >= count {
                            if !atEnd { return .needMore }
                            return .done(resync(start: start, error: RecordError(.unterminatedQuote, "a quoted field is not closed"), bytes: bytes, count: count))
                        }
                        if j - start > maxRecordBytes {
                            return .done(resync(start: start, error: RecordError(.unterminatedQuote, "a quoted field is not closed within \(maxRecordBytes) bytes"), bytes: bytes, count: count))
                        }
                        let byte = bytes[j]
                        if byte == Self.quote {
                            if j + 1 >= count, !atEnd { return .needMore }
                            if j + 1 < count, bytes[j + 1] == Self.quote {
                                j += 2
                                continue
                            }
                            break
                        }
                        if byte == Self.lf { newlines += 1 }
                        j += 1
                    }
                    i = j + 1
                    fields.append(CSVField(range: fieldStart..<i, quoted: true))
                    // After a closing quote: a delimiter, a line break or the end.
                    if i >= count {
                        if !atEnd { return .needMore }
                        return .done(.record(fields: fields, contentEnd: i, next: i, ending: .none, newlines: newlines))
                    }
                    let byte = bytes[i]
                    if byte == delimiter {
                        i += 1
                        if i >= count, atEnd {
                            fields.append(CSVField(range: i..<i, quoted: false))
                            return .done(.record(fields: fields, contentEnd: i, next: i, ending: .none, newlines: newlines))
                        }
                        continue
                    }
                    if let (ending, next) = lineBreak(at: i, bytes: bytes, count: count, atEnd: atEnd) {
                        return .done(.record(fields: fields, contentEnd: i, next: next, ending: ending, newlines: newlines))
                    }
                    if i + 1 >= count, bytes[i] == Self.cr, !atEnd { return .needMore }
                    return .done(resync(start: start, error: RecordError(.badQuote, "unexpected text after a closing quote"), bytes: bytes, count: count))
                }
                // Unquoted field: up to a delimiter, a line break or the end.
                var j = i
                while j < count {
                    let byte = bytes[j]
                    if byte == delimiter || byte == Self.lf { break }
                    if byte == Self.cr {
                        if j + 1 >= count {
                            if !atEnd { return .needMore }
                            break
                        }
                        if bytes[j + 1] == Self.lf { break }
                    }
                    j += 1
                }
                if j >= count {
                    if !atEnd {
                        // The limit holds inside an unquoted field too (a 100 MiB last field grew
                        // the window to match); checked only when the window must grow.
                        if j - start > maxRecordBytes {
                            return .done(resync(start: start, error: RecordError(.recordTooLarge, "the record is longer than \(maxRecordBytes) bytes"), bytes: bytes, count: count))
                        }
                        return .needMore
                    }
                    fields.append(CSVField(range: fieldStart..<j, quoted: false))
                    return .done(.record(fields: fields, contentEnd: j, next: j, ending: .none, newlines: newlines))
                }
                fields.append(CSVField(range: fieldStart..<j, quoted: false))
                if bytes[j] == delimiter {
                    i = j + 1
                    if i >= count, atEnd {
                        fields.append(CSVField(range: i..<i, quoted: false))
                        return .done(.record(fields: fields, contentEnd: i, next: i, ending: .none, newlines: newlines))
                    }
                    continue
                }
                let (ending, next) = lineBreak(at: j, bytes: bytes, count: count, atEnd: atEnd)!
                return .done(.record(fields: fields, contentEnd: j, next: next, ending: ending, newlines: newlines))
            }
        }

        /// The line break at `i`, if there is one, and the index after it.
        func lineBreak(at i: Int, bytes: [UInt8], count: Int, atEnd: Bool) -> (LineEnding, Int)? {
            if bytes[i] == Self.lf { return (.lf, i + 1) }
            if bytes[i] == Self.cr, i + 1 < count, bytes[i + 1] == Self.lf { return (.crlf, i + 2) }
            if bytes[i] == Self.cr, i + 1 >= count, atEnd { return (.lf, i + 1) }
            return nil
        }

        /// A malformed record ends where its first line ends; reading resumes on the next line.
        func resync(start: Int, error: RecordError, bytes: [UInt8], count: Int) -> Result {
            var j = start
            while j < count, bytes[j] != Self.lf { j += 1 }
            return .malformed(error, next: min(j + 1, count), lines: 1)
        }
    }
}

import NIOCore

extension JSONScanner {
    mutating func readOptionalString() throws -> String? {
        if try peek() == .string { return try readString() }
        try skipValue()
        return nil
    }

    /// A string, or a number's text (some servers send ids as numbers).
    mutating func readScalarText() throws -> String? {
        switch try peek() {
        case .string: return try readString()
        case .number: return String(try readNumberText())
        default:
            try skipValue()
            return nil
        }
    }

    mutating func readLiberalBool() throws -> Bool {
        switch try peek() {
        case .bool: return try readBool()
        case .string: return try readString().lowercased() == "true"
        default:
            try skipValue()
            return false
        }
    }

    mutating func readErrorCode() throws -> ErrorCode? {
        switch try peek() {
        case .number:
            let text = try readNumberText()
            if let value = Int(text) { return ErrorCode(value) }
            if let value = Double(text), value == value.rounded(), abs(value) < 1e9 { return ErrorCode(Int(value)) }
            return nil
        case .string:
            return Int(try readString()).map { ErrorCode($0) }
        default:
            try skipValue()
            return nil
        }
    }

    /// Reads `[{"name": ..., "value": ...}, ...]`; a value that is a number is kept as its text.
    /// Appends a string's UTF-8 to `texts` as a `tag` entry (null for anything but a string).
    mutating func readOptionalString(into texts: inout ResponseTexts, as tag: ResponseTexts.Tag) throws {
        guard try peek() == .string else {
            try skipValue()
            return texts.append(tag, nil as UnsafeRawBufferPointer?)
        }
        try withStringBytes { texts.append(tag, $0) }
    }

    /// Appends a string's or a number's text to `texts` as a `tag` entry (null for anything
    /// else); whether it was a text.
    @discardableResult
    mutating func readScalarText(into texts: inout ResponseTexts, as tag: ResponseTexts.Tag) throws -> Bool {
        switch try peek() {
        case .string: try withStringBytes { texts.append(tag, $0) }
        case .number: texts.append(tag, String(try readNumberText()))
        default:
            try skipValue()
            texts.append(tag, nil as UnsafeRawBufferPointer?)
            return false
        }
        return true
    }

    /// Reads a values array into `texts`: each element's name and value, in order. Throws as
    /// ``readFieldValues()`` does for an element that is not an object or lacks either.
    mutating func readFieldValues(into texts: inout ResponseTexts) throws {
        texts.startValues(present: true)
        var count = 0
        try readArray { scanner in
            guard try scanner.peek() == .objectStart else {
                try scanner.skipValue()
                throw FieldValueShapeError(description: "values[\(count)] is not an object")
            }
            let start = texts.count
            // The usual element: a name, then a value, each once and a text: nothing to settle.
            var entries = 0
            var usual = true
            try scanner.readObjectKeys { scanner, key in
                switch key {
                case "name":
                    let text = try scanner.readScalarText(into: &texts, as: .name)
                    usual = usual && entries == 0 && text
                    entries += 1
                case "value":
                    let text = try scanner.readScalarText(into: &texts, as: .value)
                    usual = usual && entries == 1 && text
                    entries += 1
                default: try scanner.skipValue()
                }
            }
            if usual && entries == 2 {
                count += 1
                return
            }
            switch texts.settleElement(from: start) {
            case .complete: break
            case .noName: throw FieldValueShapeError(description: "values[\(count)] has no name")
            case .noValue: throw FieldValueShapeError(description: "values[\(count)] has no string value")
            }
            count += 1
        }
    }

    mutating func readFieldValues() throws -> [FieldValue] {
        var values: [FieldValue] = []
        values.reserveCapacity(4)
        try readArray { scanner in
            guard try scanner.peek() == .objectStart else {
                try scanner.skipValue()
                throw FieldValueShapeError(description: "values[\(values.count)] is not an object")
            }
            var name: String?
            var value: String?
            try scanner.readObjectKeys { scanner, key in
                switch key {
                case "name": name = try scanner.peek() == .string ? try scanner.readRecurringString() : scanner.readScalarText()
                case "value": value = try scanner.readScalarText()
                default: try scanner.skipValue()
                }
            }
            guard let name else { throw FieldValueShapeError(description: "values[\(values.count)] has no name") }
            guard let value else { throw FieldValueShapeError(description: "values[\(values.count)] has no string value") }
            values.append(FieldValue(name: name, value: value))
        }
        return values
    }
}

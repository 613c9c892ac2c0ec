extension Request {
    /// Checks the required properties and the length limits of the spec's tables.
    ///
    /// Lengths are counted in characters, as the spec's tables give them. Error messages name the
    /// property and the problem, never the value.
    public func validate() throws(ShieldConexError) {
        try Self.check("reference", reference, required: false, 1...255, action: action)
        switch action {
        case .templateValidate, .tokenize:
            try Self.check("templateRef", templateRef, required: true, 1...255, action: action)
        case .heartbeat, .partnerValidate, .read, .detokenize:
            break
        }
        try Self.checkRecordParts(action: action, bfid: bfid, values: values)
    }

    /// The checks of what differs from one record's request to the next (after the reference
    /// and the templateRef): the bfid and the values, as the action needs them.
    static func checkRecordParts(action: Action, bfid: String?, values: [FieldValue]?) throws(ShieldConexError) {
        switch action {
        case .heartbeat, .partnerValidate, .templateValidate:
            break
        case .tokenize:
            try checkValues(values, action: action)
        case .read:
            try check("bfid", bfid, required: true, 30...150, action: action)
        case .detokenize:
            try check("bfid", bfid, required: true, 30...150, action: action)
            try checkValues(values, action: action)
        }
    }

    /// A property's presence and its length in characters.
    static func check(_ name: String, _ value: String?, required: Bool, _ range: ClosedRange<Int>, action: Action) throws(ShieldConexError) {
        guard let value else {
            if required { throw .invalidRequest(property: name, reason: "is required for \(action.rawValue)") }
            return
        }
        // Counting characters walks grapheme clusters; a string of at most `upperBound` UTF-8
        // bytes has at most that many characters, and a non-empty one at least one.
        let bytes = value.utf8.count
        if bytes <= range.upperBound && range.lowerBound <= 1 && bytes >= range.lowerBound { return }
        let count = value.count
        if !range.contains(count) {
            throw .invalidRequest(property: name, reason: "length \(count) is outside \(range.lowerBound)-\(range.upperBound)")
        }
    }

    static func checkValues(_ values: [FieldValue]?, action: Action) throws(ShieldConexError) {
        guard let values, !values.isEmpty else {
            throw .invalidRequest(property: "values", reason: "must hold at least one {name, value} for \(action.rawValue)")
        }
        for (index, value) in values.enumerated() where value.name.isEmpty {
            throw .invalidRequest(property: "values[\(index)].name", reason: "must not be empty")
        }
    }
}

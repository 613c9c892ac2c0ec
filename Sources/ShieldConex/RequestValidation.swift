extension Request {
    /// Checks the required properties and the length limits of the spec's tables.
    ///
    /// Lengths are counted in characters, as the spec's tables give them. Error messages name the
    /// property and the problem, never the value.
    public func validate() throws(ShieldConexError) {
        func check(_ name: String, _ value: String?, required: Bool, _ range: ClosedRange<Int>) throws(ShieldConexError) {
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
                throw .invalidRequest(
                    property: name,
                    reason: "length \(count) is outside \(range.lowerBound)-\(range.upperBound)"
                )
            }
        }
        try check("reference", reference, required: false, 1...255)
        switch action {
        case .heartbeat, .partnerValidate:
            break
        case .templateValidate:
            try check("templateRef", templateRef, required: true, 1...255)
        case .tokenize:
            try check("templateRef", templateRef, required: true, 1...255)
            try checkValues()
        case .read:
            try check("bfid", bfid, required: true, 30...150)
        case .detokenize:
            try check("bfid", bfid, required: true, 30...150)
            try checkValues()
        }
    }

    private func checkValues() throws(ShieldConexError) {
        guard let values, !values.isEmpty else {
            throw .invalidRequest(property: "values", reason: "must hold at least one {name, value} for \(action.rawValue)")
        }
        for (index, value) in values.enumerated() where value.name.isEmpty {
            throw .invalidRequest(property: "values[\(index)].name", reason: "must not be empty")
        }
    }
}

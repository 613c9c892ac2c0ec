import Foundation

/// An ISO 8601 duration, `P(n)Y(n)M(n)W(n)DT(n)H(n)M(n)S`, as the ORCA document uses for a
/// template's `activeFrom` / `activeTo`. Years and months are calendar units, so the duration
/// is applied to a date with a calendar rather than turned into seconds.
public struct ISO8601Duration: Sendable, Hashable, CustomStringConvertible {
    public var years = 0
    public var months = 0
    public var weeks = 0
    public var days = 0
    public var hours = 0
    public var minutes = 0
    public var seconds: Double = 0

    public struct ParseError: Error, CustomStringConvertible {
        public var description: String
    }

    public let text: String

    public init(parsing text: String) throws {
        self.text = text
        var rest = Substring(text.uppercased())
        guard rest.first == "P" else { throw ParseError(description: "duration '\(text)' must start with P") }
        rest = rest.dropFirst()
        guard !rest.isEmpty else { throw ParseError(description: "duration '\(text)' has no elements") }
        var inTime = false
        var sawElement = false
        var lastOrder = -1
        while !rest.isEmpty {
            if rest.first == "T" {
                guard !inTime else { throw ParseError(description: "duration '\(text)' has two T designators") }
                inTime = true
                rest = rest.dropFirst()
                guard !rest.isEmpty else { throw ParseError(description: "duration '\(text)' ends with T") }
                continue
            }
            let number = rest.prefix { $0.isNumber || $0 == "." || $0 == "," }
            guard !number.isEmpty, let designator = rest.dropFirst(number.count).first else {
                throw ParseError(description: "duration '\(text)' is not of the form P(n)Y(n)M(n)W(n)DT(n)H(n)M(n)S")
            }
            rest = rest.dropFirst(number.count + 1)
            let value = Double(number.replacingOccurrences(of: ",", with: "."))
            guard let value else { throw ParseError(description: "duration '\(text)' has a bad number") }
            let order: Int
            switch (inTime, designator) {
            case (false, "Y"): order = 0
            case (false, "M"): order = 1
            case (false, "W"): order = 2
            case (false, "D"): order = 3
            case (true, "H"): order = 4
            case (true, "M"): order = 5
            case (true, "S"): order = 6
            default: throw ParseError(description: "duration '\(text)' has an unexpected '\(designator)'")
            }
            guard order > lastOrder else { throw ParseError(description: "duration '\(text)' has elements out of order") }
            if order != 6, value != value.rounded() {
                throw ParseError(description: "duration '\(text)': only seconds may have a fraction")
            }
            lastOrder = order
            sawElement = true
            switch order {
            case 0: years = Int(value)
            case 1: months = Int(value)
            case 2: weeks = Int(value)
            case 3: days = Int(value)
            case 4: hours = Int(value)
            case 5: minutes = Int(value)
            default: seconds = value
            }
        }
        guard sawElement else { throw ParseError(description: "duration '\(text)' has no elements") }
    }

    /// `date` moved forward by this duration on the UTC Gregorian calendar.
    public func added(to date: Date) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var components = DateComponents()
        components.year = years
        components.month = months
        components.day = weeks * 7 + days
        components.hour = hours
        components.minute = minutes
        let whole = calendar.date(byAdding: components, to: date) ?? date
        return whole.addingTimeInterval(seconds)
    }

    public var description: String { text }
}

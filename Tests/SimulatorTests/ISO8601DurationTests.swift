import Foundation
import Testing

@testable import Simulator

@Suite struct ISO8601DurationTests {
    @Test func theORCAExampleParses() throws {
        let duration = try ISO8601Duration(parsing: "P3Y6M4DT12H30M5S")
        #expect(duration.years == 3 && duration.months == 6 && duration.days == 4)
        #expect(duration.hours == 12 && duration.minutes == 30 && duration.seconds == 5)
    }

    @Test(arguments: [
        ("P2W", 14 * 86_400.0), ("PT0S", 0.0), ("PT1.5S", 1.5), ("P1DT1H", 90_000.0), ("PT90M", 5_400.0), ("p1d", 86_400.0),
    ])
    func durationsApplyToDates(text: String, seconds: Double) throws {
        let origin = Date(timeIntervalSince1970: 1_700_000_000)
        #expect(try ISO8601Duration(parsing: text).added(to: origin).timeIntervalSince(origin) == seconds)
    }

    @Test func monthsAndYearsAreCalendarUnits() throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let start = calendar.date(from: DateComponents(year: 2024, month: 1, day: 31))!
        let end = try ISO8601Duration(parsing: "P1Y1M").added(to: start)
        let parts = calendar.dateComponents([.year, .month, .day], from: end)
        #expect(parts.year == 2025 && parts.month == 2 && parts.day == 28)
    }

    @Test(arguments: ["", "P", "PT", "3Y", "P1H", "PT1D", "P1M1Y", "P1.5Y", "PTT1S", "P1Y2", "PXS"])
    func malformedDurationsAreRefused(text: String) {
        #expect(throws: ISO8601Duration.ParseError.self) { try ISO8601Duration(parsing: text) }
    }
}

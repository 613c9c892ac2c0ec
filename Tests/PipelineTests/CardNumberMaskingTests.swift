import Testing

@testable import Pipeline

@Suite struct MessageRedactionTests {
    @Test(arguments: [
        ("Invalid value 4000001234567899 for field card_number", "Invalid value 400000******7899 for field card_number"),
        ("card 4000 0012 3456 7899 refused", "card 400000******7899 refused"),
        ("error 1203 at 2026-11-23", "error 1203 at 2026-11-23"),
        ("Template not found", "Template not found"),
        ("messageId 1202611230717275610000001", "messageId 120261***************0001"),
    ])
    func longDigitRunsAreMasked(message: String, redacted: String) {
        #expect(MessageRedaction.redact(message) == redacted)
    }
}

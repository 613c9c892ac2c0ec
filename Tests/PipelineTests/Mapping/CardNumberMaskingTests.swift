import Foundation
import Testing

@testable import Pipeline

/// The ORCA patterns ("Supported Masking Patterns" in the ORCA configuration reference), each
/// checked against its definition, and their use on free text.
@Suite struct CardNumberMaskingTests {
    // A generated test PAN: Luhn-valid, on no card.
    static let pan = "4000001234567899"

    @Test func allMasksTheEntireValue() {
        #expect(MaskingPattern.all.apply(to: Self.pan) == String(repeating: "*", count: 16))
        #expect(MaskingPattern.all.apply(to: "123") == "***")
    }

    @Test func fourPlainFourMaskedMasksEveryOtherFour() {
        #expect(MaskingPattern.fourPlainFourMasked.apply(to: Self.pan) == "4000****3456****")
        #expect(MaskingPattern.fourPlainFourMasked.apply(to: "4000001234567") == "4000****3456*")
    }

    @Test func allButFirstSixLastFourKeepsTheEnds() {
        #expect(MaskingPattern.allButFirstSixLastFour.apply(to: Self.pan) == "400000******7899")
        #expect(MaskingPattern.allButFirstSixLastFour.apply(to: "4000001234567899123") == "400000*********9123")
        // Too short to keep ten characters and still hide a middle: all masked.
        #expect(MaskingPattern.allButFirstSixLastFour.apply(to: "4000001234") == "**********")
    }

    @Test func allButFirstOneLastFourKeepsTheFirstAndLastFour() {
        #expect(MaskingPattern.allButFirstOneLastFour.apply(to: Self.pan) == "4***********7899")
        #expect(MaskingPattern.allButFirstOneLastFour.apply(to: "12345") == "*****")
    }

    @Test(arguments: [
        ("Invalid value 4000001234567899 for field card_number", "Invalid value 400000******7899 for field card_number"),
        ("card 4000 0012 3456 7899 refused", "card 400000******7899 refused"),
        ("card 4000-0012-3456-7899 refused", "card 400000******7899 refused"),
        ("error 1203 at 2026-11-23", "error 1203 at 2026-11-23"),
        ("Template not found", "Template not found"),
        ("messageId 1202611230717275610000001", "messageId 120261***************0001"),
        ("track 4000001234567899=2212101123456789", "track 400000******7899=221210******6789"),
    ])
    func longDigitRunsAreMasked(message: String, masked: String) {
        #expect(CardNumberMasking().mask(message) == masked)
    }

    @Test(arguments: MaskingPattern.allCases)
    func everyPatternHidesTheMiddleOfACardNumberInText(pattern: MaskingPattern) {
        let masked = CardNumberMasking(pattern: pattern).mask("value \(Self.pan) refused")
        #expect(!masked.contains(Self.pan))
        #expect(!masked.contains("01234567"))
        #expect(masked == "value \(pattern.apply(to: Self.pan)) refused")
    }

    @Test func aRecordsOwnValuesAreMaskedWhereTheyStandAlone() {
        let masking = CardNumberMasking()
        #expect(masking.mask("Invalid value 987 for field card_cvv", values: ["987", Self.pan]) == "Invalid value *** for field card_cvv")
        #expect(masking.mask("error 19870 at 987", values: ["987"]) == "error 19870 at ***")
        #expect(masking.mask("bad \(Self.pan) and 12", values: [Self.pan, "12"]) == "bad 400000******7899 and 12")
        // Found at either end, in text that is not ASCII too; not found when longer or absent.
        #expect(masking.mask("987 at start, end 654", values: ["987", "654"]) == "*** at start, end ***")
        #expect(masking.mask("café 987 naïve", values: ["987"]) == "café *** naïve")
        #expect(masking.mask("über 987", values: ["über"]) == "**** 987")
        #expect(CardNumberMasking.appears("abc", in: "xxabc") && CardNumberMasking.appears("abc", in: "abc"))
        #expect(!CardNumberMasking.appears("abcd", in: "abc") && !CardNumberMasking.appears("abd", in: "ababcab"))
        #expect(CardNumberMasking.appears("é", in: "caf\u{E9}") && !CardNumberMasking.appears("x", in: ""))
    }

    @Test func theJobFilePatternIsTheCardNumberFieldsMask() throws {
        let text = """
            {"instructions": [
               {"transformationType": "key", "transformationPath": "pan_col", "fieldName": "card_number", "luhnCheck": true},
               {"transformationType": "key", "transformationPath": "cvv", "fieldName": "card_cvv"}],
             "logSettings": {"requestMasks": [
               {"transformationType": "key", "transformationPath": "cvv", "pattern": "all"},
               {"transformationType": "key", "transformationPath": "pan_col", "pattern": "fourPlainFourMasked"}]}}
            """
        let job = try JSONDecoder().decode(JobConfiguration.self, from: Data(text.utf8))
        #expect(job.cardNumberPattern == .fourPlainFourMasked)

        let named = try JSONDecoder().decode(JobConfiguration.self, from: Data("""
            {"logSettings": {"requestMasks": [{"transformationType": "jsonpath", "transformationPath": "$.card.pan", "pattern": "allButFirstOneLastFour"}]}}
            """.utf8))
        #expect(named.cardNumberPattern == .allButFirstOneLastFour)
        #expect(JobConfiguration().cardNumberPattern == .allButFirstSixLastFour)
    }
}

import Foundation
import Testing
import TestSupport

/// The second audit's leaks and wrong results, reproduced against a server we did not write
/// (Python's `websockets`, Tests/Fixtures/websockets-server) told to misbehave: a fatal answer
/// that quotes the record's values, a refusal that echoes the Authorization header, the
/// plaintext answered as the token, a bfid the output cannot hold.
@Suite(.serialized) struct HostileAnswerTests {
    typealias Server = StrictServer
    static let template = TestRuns.template

    /// Records whose expiry and CVV are the same distinctive digits everywhere.
    static func input(_ folder: TestFolder, rows: Int = 50) throws -> String {
        let path = folder.path("cards.csv")
        var text = "id,card_number,card_exp,card_cvv\n"
        for index in 0..<rows { text += "C\(index),\(TestCards.pan(index)),0931,8642\n" }
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func tokenize(_ server: Server, _ input: String, _ folder: TestFolder, key: String = StrictServer.key, extra: [String] = []) throws
        -> BinaryLauncher.Outcome
    {
        try StrictServer.command(
            ["run", "--endpoint", server.url, "--input", input, "--output", folder.path("out.csv"), "--template-ref", template,
             "--report", folder.path("report.json")] + TestRuns.mapping + extra,
            key: key
        )
    }

    /// Item 7: a fatal answer whose message quotes the expiry and the CVV: neither reaches stderr
    /// nor the report, which is created 0600.
    @Test func aFatalAnswersMessageIsMaskedWithEveryValueOfTheRecord() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let input = try Self.input(folder)
        let server = try Server(["--fatal-echo"])
        defer { _ = server.stop() }
        let outcome = try Self.tokenize(server, input, folder)
        #expect(outcome.status == 4, "\(outcome.stderr)")
        let report = try String(contentsOfFile: folder.path("report.json"), encoding: .utf8)
        #expect(outcome.stderr.contains("Template not found") && report.contains("Template not found"), "the service's message is shown")
        for text in [outcome.stderr, outcome.stdout, report] {
            #expect(!text.contains("0931") && !text.contains("8642"), "no expiry or CVV: \(text.prefix(2_000))")
            #expect(!text.contains(TestCards.pan(0)))
        }
        let mode = try #require(FileManager.default.attributesOfItem(atPath: folder.path("report.json"))[.posixPermissions] as? Int)
        #expect(mode == 0o600)
    }

    /// Item 8: a 401 whose body echoes `Authorization: Basic <key>`: `run` (stderr, report) and
    /// `validate` never show the key, decoded or not.
    @Test func aRefusalThatEchoesTheKeyNeverShowsIt() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let input = try Self.input(folder, rows: 5)
        let server = try Server(["--echo-authorization"])
        defer { _ = server.stop() }
        // base64("partner-17:s3cr3t-partner-key")
        let key = Data("partner-17:s3cr3t-partner-key".utf8).base64EncodedString()
        let run = try Self.tokenize(server, input, folder, key: key)
        #expect(run.status == 4, "\(run.stderr)")
        let validate = try StrictServer.command(["validate", "--endpoint", server.url], key: key)
        #expect(validate.status == 4, "\(validate.stderr)")
        let report = try String(contentsOfFile: folder.path("report.json"), encoding: .utf8)
        #expect(run.stderr.contains("Unauthorized") && report.contains("Unauthorized") && validate.stdout.contains("Unauthorized"), "the refusal is shown")
        for text in [run.stderr, run.stdout, report, validate.stdout, validate.stderr] {
            #expect(!text.contains(key) && !text.contains("s3cr3t-partner-key") && !text.contains(String(key.prefix(12))), "\(text.prefix(2_000))")
        }
    }

    /// Item 11: a peer answering each value as its own token: every record is a reject with that
    /// reason, the summary says so, and no card number reaches the output.
    @Test func aTokenEqualToItsValueIsAReject() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let input = try Self.input(folder, rows: 20)
        let server = try Server(["--token-is-value"])
        defer { _ = server.stop() }
        let outcome = try Self.tokenize(server, input, folder)
        #expect(outcome.status == 2, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("answer-plaintext"), "\(outcome.stderr)")
        let output = try String(contentsOfFile: folder.path("out.csv"), encoding: .utf8)
        #expect(output.split(separator: "\n").count == 1, "only the header: \(output.prefix(300))")
        #expect(!output.contains(TestCards.pan(3)))
    }

    /// Item 12: a bfid with a space, or an empty one, is a reject, not a done record.
    @Test(arguments: ["two words", ""])
    func aBfidTheOutputCannotHoldIsAReject(bfid: String) throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let input = try Self.input(folder, rows: 10)
        let server = try Server(["--bfid", bfid])
        defer { _ = server.stop() }
        let outcome = try Self.tokenize(server, input, folder)
        #expect(outcome.status == 2, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("answer-bad-bfid") && outcome.stderr.contains("done: 0"), "\(outcome.stderr)")
    }
}

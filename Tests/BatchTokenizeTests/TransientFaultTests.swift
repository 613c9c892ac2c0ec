@testable import Checkpoint
import Foundation
import Testing
import TestSupport

/// Transient failures are not permanent rejects, and repeated field names never go in one
/// request: on our simulator and on the server we did not write.
@Suite(.serialized) struct TransientFaultTests {
    static let template = "438ac8afecdd8035a21c126ee1fe6c19"
    static let root = ProjectFiles.root
    static let mapping = ["--map", "card_number=card_number:digits,luhn,skip-empty", "--map", "card_exp=card_exp", "--map", "card_cvv=card_cvv"]

    /// A service throttling hard (20 requests/s with 8001) and no retry budget (`--retry-for 0`):
    /// records still failing go to the rejects file as transient and the run exits 75; the next
    /// run, against a healthy service, sends exactly those records again and ends with the
    /// output and rejects of an uninterrupted run, byte for byte.
    @Test func aRecordStillFailingWhenItsBudgetRunsOutIsSentAgainByTheNextRun() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        func arguments(_ simulator: SimulatorProcess, _ output: String) -> [String] {
            // The audit trail kept, so that the finished checkpoint's records can be searched for tokens.
            ["run", "--endpoint", simulator.url, "--template-ref", Self.template, "--input", "samples/cards.csv", "--output", output,
             "--report", output + ".report.json", "--keep-audit-trail"] + Self.mapping
        }
        let key = ["SCX_API_KEY": TestKeys.simulator]
        let reference = try SimulatorProcess(["--deterministic-ids"])
        let straight = folder.path("straight.csv")
        let uninterrupted = try BinaryLauncher.run(arguments(reference, straight), environment: key, directory: Self.root)
        _ = reference.stop()
        #expect(uninterrupted.status == 0, "\(uninterrupted.stderr)")

        let throttling = try SimulatorProcess(["--deterministic-ids", "--rate-limit", "20", "--throttle-code", "8001"])
        let output = folder.path("out.csv")
        let first = try BinaryLauncher.run(arguments(throttling, output) + ["--retry-for", "0"], environment: key, directory: Self.root)
        _ = throttling.stop()
        #expect(first.status == 75, "\(first.stderr)")
        #expect(first.stderr.contains("transient, will be retried"))
        let rejects = try String(contentsOfFile: output + ".rejects.csv", encoding: .utf8)
        let transient = rejects.split(separator: "\n").filter { $0.contains(",transient:") || $0.contains("transient: ") }.count
        #expect(transient > 0, "\(rejects)")
        #expect(!rejects.contains("8001,Rate limit exceeded"), "no 8001 is a permanent reject")
        let report = try JSONText.object(String(contentsOfFile: output + ".report.json", encoding: .utf8))
        #expect(report["outcome"] as? String == "transient-failures")
        #expect((report["records"] as? [String: Any])?["transient"] as? Int == transient)
        let status = try BinaryLauncher.run(["status", "--output", output])
        #expect(status.stdout.contains("complete: no"))

        // The same endpoint (a resume on another one is refused), now healthy.
        let port = String(throttling.url.split(separator: ":").last!)
        let healthy = try SimulatorProcess(["--deterministic-ids", "--port", port])
        #expect(healthy.url == throttling.url)
        let second = try BinaryLauncher.run(arguments(healthy, output), environment: key, directory: Self.root)
        let sent = SimulatorProcess.counter("tokenization-tokenize", in: healthy.stop())
        #expect(second.status == 0, "\(second.stderr)")
        #expect(sent == transient, "only the transient records are sent again: \(sent) for \(transient)")
        #expect(FileManager.default.contents(atPath: output) == FileManager.default.contents(atPath: straight), "byte-identical output")
        #expect(
            FileManager.default.contents(atPath: output + ".rejects.csv") == FileManager.default.contents(atPath: straight + ".rejects.csv")
        )
        let again = try BinaryLauncher.run(arguments(healthy, output), environment: key, directory: Self.root)
        #expect(again.status == 0 && again.stderr.contains("already complete"), "\(again.stderr)")

        // The job is finished: its checkpoint holds no token (each commit dropped those it
        // covered), neither in the database nor in its WAL; with --keep-audit-trail, bfids stay.
        let checkpoint = CheckpointStore.defaultPath(forOutput: output)
        let stored = try CheckpointStore.storedResults(path: checkpoint, in: 0...Int.max)
        #expect(!stored.isEmpty && stored.values.allSatisfy { $0.tokens.isEmpty })
        let tokens = try CSVFiles.read(output).rows.map { $0[1] }.filter { $0.count >= 12 }
        #expect(tokens.count > 100)
        for suffix in ["", "-wal"] {
            guard let data = FileManager.default.contents(atPath: checkpoint + suffix) else { continue }
            let bytes = [UInt8](data)
            let found = tokens.filter { ByteSearch.contains(bytes, Array($0.utf8)) }
            #expect(found.isEmpty, "\(found.count) tokens in the checkpoint\(suffix) after the job finished")
        }
    }

/// NDJSON whose notes hold 0, 1, 2 or 3 card numbers, for a regex instruction.
    static func notesNDJSON(records: Int, to path: String) throws {
        var text = ""
        for row in 0..<records {
            let pans = (0..<(row % 4)).map { TestCards.pan(row + 1, prefix: "4\($0 + 1)0000") }
            let notes = pans.isEmpty ? "nothing on file" : "cards " + pans.joined(separator: " and ")
            text += #"{"id": "R\#(row)", "card": {"number": "\#(TestCards.pan(row + 1))", "exp": "1229", "cvv": "123"}, "notes": "\#(notes)"}"#
                + "\n"
        }
        try CSVFiles.write(text, to: path)
    }

    /// A server that refuses a field name repeated in one request: by default no record is
    /// refused, a record with k matches gets k bfids, and detokenize gives back the input. The
    /// one-request form, asked for, is refused by that server (so the server does refuse).
    @Test(arguments: ["websockets", "simulator"])
    func severalMatchesOfOneFieldGoAsSeveralRequests(server kind: String) throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let records = 200
        let input = folder.path("notes.ndjson")
        try Self.notesNDJSON(records: records, to: input)
        let url: String
        let stop: () -> Void
        let key: String
        if kind == "websockets" {
            let server = try StrictServer(["--refuse-repeated-fields"])
            (url, key) = (server.url, StrictServer.key)
            stop = { _ = server.stop() }
        } else {
            let simulator = try SimulatorProcess(["--refuse-repeated-fields"])
            (url, key) = (simulator.url, TestKeys.simulator)
            stop = { _ = simulator.stop() }
        }
        defer { stop() }
        let environment = ["SCX_API_KEY": key]
        let job = ["--config", "samples/job-cards-ndjson.json", "--endpoint", url]
        let output = folder.path("out.ndjson")
        let run = try BinaryLauncher.run(
            ["run"] + job + ["--input", input, "--output", output, "--rejects", folder.path("rejects.csv")], environment: environment,
            directory: Self.root
        )
        #expect(run.status == 0, "\(run.stderr)")
        let lines = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == records)
        for (row, line) in lines.enumerated() {
            let object = try JSONText.object(String(line))
            let bfids = (object["bfid"] as? String ?? "").split(separator: " ")
            #expect(bfids.count == max(1, row % 4), "record \(row + 1) has \(row % 4) matches")
        }
        let plain = folder.path("plain.ndjson")
        let detokenize = try BinaryLauncher.run(
            ["detokenize"] + job + ["--input", output, "--output", plain, "--rejects", folder.path("plain-rejects.csv")],
            environment: environment, directory: Self.root
        )
        #expect(detokenize.status == 0, "\(detokenize.stderr)")
        let original = try String(contentsOfFile: input, encoding: .utf8).split(separator: "\n")
        let back = try String(contentsOfFile: plain, encoding: .utf8).split(separator: "\n")
        #expect(back.count == records)
        for (source, detokenized) in zip(original, back) {
            var object = try JSONText.object(String(detokenized))
            object["bfid"] = nil
            let expected = try JSONText.object(String(source))
            #expect(object["notes"] as? String == expected["notes"] as? String)
            #expect((object["card"] as? [String: String]) == (expected["card"] as? [String: String]))
        }

        let oneRequest = try BinaryLauncher.run(
            ["run"] + job + ["--input", input, "--output", folder.path("one.ndjson"), "--rejects", folder.path("one-rejects.csv"),
                             "--allow-repeated-fields"],
            environment: environment, directory: Self.root
        )
        #expect(oneRequest.status == 2)
        let refused = try String(contentsOfFile: folder.path("one-rejects.csv"), encoding: .utf8)
        #expect(refused.split(separator: "\n").count - 1 == records / 2, "records with 2 or 3 matches are refused")
        #expect(refused.contains("1004") && refused.contains("Duplicate field: scx_token_account"))
    }
}

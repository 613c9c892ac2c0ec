import Checkpoint
import Foundation
import Pipeline
import Testing
import TestSupport

/// `detokenize`, `read` and `verify` end to end against a simulator in its own process.
@Suite(.serialized) struct JobKindsTests {
    static let template = "438ac8afecdd8035a21c126ee1fe6c19"
    static var root: String { ProjectFiles.root }

    static func command(_ name: String, _ arguments: [String], simulator: SimulatorProcess) throws -> BinaryLauncher.Outcome {
        try BinaryLauncher.run(
            [name, "--endpoint", simulator.url] + arguments, environment: ["SCX_API_KEY": TestKeys.simulator], directory: root
        )
    }


    @Test func detokenizingTheTokenizedCSVGivesBackTheInput() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let simulator = try SimulatorProcess()
        defer { _ = simulator.stop() }
        let tokenized = folder.path("cards.tokenized.csv")
        let plain = folder.path("cards.plain.csv")
        let job = ["--config", "samples/job-cards-csv.json"]
        let tokenize = try Self.command("run", job + ["--output", tokenized, "--rejects", folder.path("t.rejects.csv")], simulator: simulator)
        #expect(tokenize.status == 0, "\(tokenize.stderr)")
        let detokenize = try Self.command("detokenize", job + ["--input", tokenized, "--output", plain, "--rejects", folder.path("d.rejects.csv")], simulator: simulator)
        #expect(detokenize.status == 0, "\(detokenize.stderr)")
        #expect(detokenize.stderr.contains("plaintext"), "the user is warned that the output holds cardholder data")
        #expect(detokenize.stderr.contains("the books balance: read 200 = done 200"))

        let mode = try #require(FileManager.default.attributesOfItem(atPath: plain)[.posixPermissions] as? Int)
        #expect(mode == 0o600)
        let input = try CSVFiles.read(Self.root + "/samples/cards.csv")
        let tokens = try CSVFiles.read(tokenized)
        let output = try CSVFiles.read(plain)
        #expect(output.header == tokens.header, "the bfid column is kept, not added twice")
        #expect(output.rows.count == 200)
        for (index, (source, result)) in zip(input.rows, output.rows).enumerated() {
            // The job normalizes card numbers (digits only): that is the value that was tokenized.
            var expected = source
            expected[1] = source[1].filter(\.isNumber)
            #expect(Array(result.dropLast()) == expected, "record \(index + 1)")
            #expect(result.last == tokens.rows[index].last)
        }
        // The plaintext never reached the checkpoint (a resumed detokenize job asks again).
        let checkpoint = CheckpointStore.defaultPath(forOutput: plain)
        #expect(try CheckpointStore.summary(path: checkpoint).complete)
        var stored = FileManager.default.contents(atPath: checkpoint) ?? Data()
        stored.append(FileManager.default.contents(atPath: checkpoint + "-wal") ?? Data())
        #expect(!stored.isEmpty)
        let leaked = input.rows.map { $0[1].filter(\.isNumber) }.filter { !$0.isEmpty && stored.range(of: Data($0.utf8)) != nil }
        #expect(leaked.isEmpty, "\(leaked.count) card numbers found in the checkpoint")
    }

    @Test func detokenizingTheTokenizedNDJSONGivesBackTheInput() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let simulator = try SimulatorProcess()
        defer { _ = simulator.stop() }
        let tokenized = folder.path("cards.tokenized.ndjson")
        let plain = folder.path("cards.plain.ndjson")
        // Whole values only: card numbers inside free text are found again by the same pattern
        // only when they still look like card numbers.
        let mapping = ["--map", "$.card.number=card_number", "--map", "$.card.exp=card_exp", "--map", "$.card.cvv=card_cvv"]
        let tokenize = try Self.command(
            "run", mapping + ["--input", "samples/cards.ndjson", "--output", tokenized, "--template-ref", Self.template], simulator: simulator
        )
        #expect(tokenize.status == 2, "\(tokenize.stderr)")
        let detokenize = try Self.command(
            "detokenize", mapping + ["--input", tokenized, "--output", plain, "--template-ref", Self.template], simulator: simulator
        )
        #expect(detokenize.status == 0, "\(detokenize.stderr)")
        let input = try String(contentsOfFile: Self.root + "/samples/cards.ndjson", encoding: .utf8).split(separator: "\n")
        let inputRejects = try String(contentsOfFile: tokenized + ".rejects.csv", encoding: .utf8).split(separator: "\n").dropFirst()
        let rejected = Set(inputRejects.compactMap { Int($0.split(separator: ",").first!) })
        let output = try String(contentsOfFile: plain, encoding: .utf8).split(separator: "\n")
        let finished = input.enumerated().filter { !rejected.contains($0.offset + 1) }.map(\.element)
        #expect(output.count == finished.count)
        for (source, result) in zip(finished, output) {
            // Every byte of the input comes back; the bfid is the one key added.
            var object = try #require(try JSONSerialization.jsonObject(with: Data(result.utf8)) as? [String: Any])
            #expect((object.removeValue(forKey: "bfid") as? String)?.count == 84)
            let original = try #require(try JSONSerialization.jsonObject(with: Data(source.utf8)) as? [String: Any])
            #expect(NSDictionary(dictionary: object).isEqual(to: original))
            #expect(result.hasPrefix(source.dropLast()), "the record's bytes are kept as they came")
        }
    }

    /// A read that was sent before a kill is outcome unknown on the next run; if that run is
    /// killed in its turn while the read's result is stored but its line is not yet written
    /// (an earlier record still in flight), the run after it still never sends that read again.
    @Test func aLostReadStaysUnsentThroughASecondKill() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let input = folder.path("stored.csv")
        let bfid = String(repeating: "b", count: 40)
        try Data(("id,card_number,bfid\n" + (0..<6).map { "R\($0),,\(bfid)\($0)\n" }.joined()).utf8).write(to: URL(fileURLWithPath: input))
        let output = folder.path("read.csv")
        let checkpoint = CheckpointStore.defaultPath(forOutput: output)
        // The first two runs' services stop answering a connection at its 3rd request (the run's
        // first record, after the credential and template checks): a service of its own for each
        // run, so that what a killed run sent or did not does not move the next run's numbering;
        // the last run's answers everything. All on the same address (part of the job's identity).
        let stalling = try SimulatorProcess(["--stall-at", "3"])
        let url = stalling.url
        let port = String(try #require(URL(string: url)?.port))
        func arguments() -> [String] {
            ["read", "--endpoint", url, "--input", input, "--output", output, "--template-ref", Self.template,
             "--map", "card_number=card_number", "--connections", "1", "--in-flight", "2"]
        }
        /// Runs the job until `done` says so of its stored results; then kills it.
        func runAndKill(until done: ([Int: RecordResult]) -> Bool) throws {
            let (process, _) = try TestRuns.start(arguments())
            while process.isRunning {
                if let stored = try? CheckpointStore.storedResults(path: checkpoint, in: 0...Int.max), done(stored) { break }
                usleep(2_000)
            }
            let stored = (try? CheckpointStore.storedResults(path: checkpoint, in: 0...Int.max)) ?? [:]
            #expect(process.isRunning, "the run was to be killed while a read was stalled: \(stored.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value.status)" })")
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        // Records 0 and 1 go out and are never answered: both are recorded as sent.
        try runAndKill { $0[0]?.status == .sent && $0[1]?.status == .sent }
        _ = stalling.stop()
        let stallingAgain = try SimulatorProcess(["--stall-at", "3", "--port", port])
        // Record 0 as if it had failed transiently instead (the next run sends it again): so
        // there, record 0 goes out and stalls while record 1 is finished as outcome unknown.
        do {
            let store = try CheckpointStore(path: checkpoint, identity: try CheckpointStore.summary(path: checkpoint).identity)
            try store.write([RecordResult(seq: 0, status: .transient, errorCode: "transient", message: "throttled")])
        }
        try runAndKill { $0[1]?.status == .outcomeUnknown && $0[0]?.status == .sent && $0[2]?.status == .sent }
        // The last run: records 0 and 2 were sent by the run before (outcome unknown), record 1
        // is outcome unknown already; only 3, 4 and 5 are read.
        _ = stallingAgain.stop()
        let simulator = try SimulatorProcess(["--port", port])
        let final = try BinaryLauncher.run(arguments(), environment: ["SCX_API_KEY": TestKeys.simulator])
        #expect(final.status == 2, "\(final.stderr)")
        #expect(SimulatorProcess.counter("tokenization-read", in: simulator.stop()) == 3, "record 1's read was never sent again")
    }

    @Test func omittedTokensAreReadBackOnceAndALostReadIsNeverSentAgain() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let simulator = try SimulatorProcess(["--drop-after", "20"])
        let mapping = ["--map", "card_number=card_number:digits,skip-empty", "--map", "card_cvv=card_cvv", "--template-ref", Self.template]
        let omitted = folder.path("omitted.csv")
        let tokenized = folder.path("tokenized.csv")
        let read = folder.path("read.csv")
        let omit = try Self.command("run", mapping + ["--input", "samples/cards.csv", "--output", omitted, "--omit", "--store"], simulator: simulator)
        #expect([0, 2].contains(omit.status), "\(omit.stderr)")
        let direct = try Self.command("run", mapping + ["--input", "samples/cards.csv", "--output", tokenized], simulator: simulator)
        #expect([0, 2].contains(direct.status), "\(direct.stderr)")
        let omittedRows = try CSVFiles.read(omitted).rows
        #expect(omittedRows.allSatisfy { $0[1].isEmpty && $0[3].isEmpty }, "--omit writes no tokens")

        let outcome = try Self.command(
            "read", mapping.dropFirst(2) + ["--map", "card_number=card_number", "--input", omitted, "--output", read], simulator: simulator
        )
        #expect([0, 2].contains(outcome.status), "\(outcome.stderr)")
        // Drops can also exhaust a tokenize record's retries (it is then a reject of that run):
        // the read job reads whatever the omit run wrote.
        #expect(omittedRows.count > 150)
        #expect(outcome.stderr.contains("the books balance: read \(omittedRows.count)"))
        let readRows = try CSVFiles.read(read).rows
        let rejects = try String(contentsOfFile: read + ".rejects.csv", encoding: .utf8).split(separator: "\n").dropFirst()
        let unknown = rejects.filter { $0.contains(",outcome-unknown,") }
        #expect(readRows.count + rejects.count == omittedRows.count)
        // Tokens are the same for the same value: what was read is what a direct tokenize gives.
        let expected = Dictionary(uniqueKeysWithValues: try CSVFiles.read(tokenized).rows.map { ($0[0], $0) })
        var compared = 0
        for row in readRows {
            guard let direct = expected[row[0]] else { continue }
            #expect(row[1] == direct[1] && row[3] == direct[3], "record \(row[0])")
            compared += 1
        }
        // (With a reset every 20 requests, all the reads can be lost on a busy machine: a reset
        // discards answers still in the simulator's send buffer. Reads without drops are
        // compared in full by omittedTokensOfAnNDJSONFileAreReadBackInPlace.)
        #expect(compared >= readRows.count - 10)
        let counters = simulator.stop()
        // Connections were dropped with reads in flight: those are outcome-unknown, never re-sent.
        #expect(!unknown.isEmpty)
        #expect(SimulatorProcess.counter("tokenization-read", in: counters) <= omittedRows.count)
        #expect(outcome.stderr.contains("outcome unknown: \(unknown.count)"))
    }

    @Test func verifyChecksASampleAndSaysWhenTheTemplateIsIrreversible() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let simulator = try SimulatorProcess()
        defer { _ = simulator.stop() }
        let output = folder.path("out.csv")
        let job = ["--config", "samples/job-cards-csv.json"]
        #expect(try Self.command("run", job + ["--output", output], simulator: simulator).status == 0)
        let verify = try Self.command("verify", job + ["--input", "samples/cards.csv", "--output", output, "--sample", "50", "--seed", "7"], simulator: simulator)
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        #expect(verify.stdout.contains("matched: 50 of 50"))
        #expect(!verify.stdout.contains("5135"), "no values are printed")

        // A tampered token is found (by record number, without values).
        var lines = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var fields = lines[3].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        fields[2] = fields[2] == "0101" ? "0202" : "0101"
        lines[3] = fields.joined(separator: ",")
        try lines.joined(separator: "\n").write(toFile: output, atomically: true, encoding: .utf8)
        let tampered = try Self.command("verify", job + ["--input", "samples/cards.csv", "--output", output, "--sample", "200"], simulator: simulator)
        #expect(tampered.status == 1)
        #expect(tampered.stdout.contains("MISMATCHED records: 3"), "\(tampered.stdout)")

        let irreversible = folder.path("irreversible.csv")
        let mapping = ["--map", "card_number=scx_token_card_number:digits,skip-empty", "--template-ref", "irreversible-card"]
        #expect(try Self.command("run", mapping + ["--input", "samples/cards.csv", "--output", irreversible], simulator: simulator).status == 0)
        let refused = try Self.command("verify", mapping + ["--input", "samples/cards.csv", "--output", irreversible, "--sample", "5"], simulator: simulator)
        #expect(refused.status == 0, "\(refused.stderr)")
        #expect(refused.stdout.contains("irreversible"))
    }

    /// Records the service will not detokenize (outside the window: 1403; irreversible: 1402)
    /// become rejects with the service's code; the job finishes.
    @Test func refusedDetokenizationsBecomeRejects() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let simulator = try SimulatorProcess()
        defer { _ = simulator.stop() }
        for (template, code) in [("timeboxed-not-yet", "1403"), ("irreversible-card", "1402")] {
            let mapping = ["--map", "card_number=scx_token_card_number:digits,skip-empty", "--template-ref", template]
            let tokenized = folder.path("\(template).csv")
            let plain = folder.path("\(template).plain.csv")
            let tokenize = try Self.command("run", mapping + ["--input", "samples/cards.csv", "--output", tokenized], simulator: simulator)
            #expect(tokenize.status == 0, "\(tokenize.stderr)")
            let detokenize = try Self.command("detokenize", mapping + ["--input", tokenized, "--output", plain], simulator: simulator)
            #expect(detokenize.status == 2, "\(detokenize.stderr)")
            let sent = try CSVFiles.read(tokenized).rows.filter { !$0[1].isEmpty }.count
            #expect(detokenize.stderr.contains("  \(code): \(sent)"), "\(detokenize.stderr)")
            let rejects = try String(contentsOfFile: plain + ".rejects.csv", encoding: .utf8).split(separator: "\n").dropFirst()
            #expect(rejects.filter { $0.contains(",\(code),") }.count == sent)
            #expect(try CSVFiles.read(plain).rows.count == 200 - sent, "only the records without a token are written")
        }
    }

    /// What cannot succeed stops the job before (or at) its first record, with its own exit code.
    @Test func refusedJobsStopWithTheirExitCodes() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let simulator = try SimulatorProcess()
        defer { _ = simulator.stop() }
        let base = ["--input", "samples/cards.csv", "--map", "card_number=scx_token_card_number:digits,skip-empty"]

        let unknown = try Self.command("run", base + ["--template-ref", "no-such-template", "--output", folder.path("a.csv")], simulator: simulator)
        #expect(unknown.status == 4)
        #expect(unknown.stderr.contains("template-validate failed for templateRef no-such-template"))

        // The key is good but not allowed this template: refused before the first record, checkpoint kept.
        let output = folder.path("b.csv")
        let denied = try Self.command("run", base + ["--template-ref", "restricted-card", "--output", output], simulator: simulator)
        #expect(denied.status == 4)
        #expect(denied.stderr.contains("template-validate failed for templateRef restricted-card"))
        #expect(denied.stderr.contains("run the same command again"))
        #expect(FileManager.default.fileExists(atPath: CheckpointStore.defaultPath(forOutput: output)))

        let wrongKey = try BinaryLauncher.run(
            ["run", "--endpoint", simulator.url, "--template-ref", Self.template, "--output", folder.path("c.csv")] + base,
            environment: ["SCX_API_KEY": "d3Jvbmc6a2V5"], directory: Self.root
        )
        #expect(wrongKey.status == 4)

        let unreachable = try BinaryLauncher.run(
            ["run", "--endpoint", "ws://127.0.0.1:1", "--template-ref", Self.template, "--output", folder.path("d.csv")] + base,
            environment: ["SCX_API_KEY": TestKeys.simulator], directory: Self.root
        )
        #expect(unreachable.status == 5)
    }

    @Test func omittedTokensOfAnNDJSONFileAreReadBackInPlace() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let simulator = try SimulatorProcess()
        defer { _ = simulator.stop() }
        let mapping = ["--map", "$.card.number=card_number:digits,skip-empty", "--map", "$.card.cvv=card_cvv:skip-empty", "--template-ref", Self.template]
        let omitted = folder.path("omitted.ndjson")
        let tokenized = folder.path("tokenized.ndjson")
        let read = folder.path("read.ndjson")
        #expect(try Self.command("run", mapping + ["--input", "samples/cards.ndjson", "--output", omitted, "--omit", "--store"], simulator: simulator).status == 0)
        #expect(try Self.command("run", mapping + ["--input", "samples/cards.ndjson", "--output", tokenized], simulator: simulator).status == 0)
        let outcome = try Self.command("read", mapping + ["--input", omitted, "--output", read], simulator: simulator)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("the books balance: read"))
        func records(_ path: String) throws -> [[String: Any]] {
            try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
                try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
            }
        }
        let direct = try records(tokenized)
        let readBack = try records(read)
        #expect(readBack.count == direct.count && !readBack.isEmpty)
        for (left, right) in zip(readBack, direct) {
            // Tokens are the same for the same value; bfids differ (one per tokenize request).
            var left = left, right = right
            #expect(left.removeValue(forKey: "bfid") != nil && right.removeValue(forKey: "bfid") != nil)
            #expect(NSDictionary(dictionary: left).isEqual(to: right), "record \(left["id"] ?? "")")
        }
    }
}

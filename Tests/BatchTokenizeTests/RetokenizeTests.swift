import Checkpoint
import Foundation
import Testing
import TestSupport

/// Issue 29: `retokenize` moves a tokenized file's tokens to a new template in one pass (a
/// detokenize under the old template, then a tokenize of the plaintext under the new), with the
/// plaintext in memory only. The real binary against the real simulator over loopback, serving
/// two templates of the same fields: the old one time-boxed (`activeTo` P30D), the new one not.
@Suite(.serialized) struct RetokenizeTests {
    static let oldTemplate = "old-timeboxed"
    static let newTemplate = "new-card"
    static let mapping = ["--map", "card_number=card_number", "--map", "card_exp=card_exp", "--map", "card_cvv=card_cvv"]

    /// The simulator's templates: the old one's tokens detokenize for 30 days after they were made.
    static func templates(in folder: TestFolder) throws -> String {
        let fields = #"[{"name": "card_number", "kind": "cardNumber"}, {"name": "card_exp", "kind": "digits"}, {"name": "card_cvv", "kind": "digits"}]"#
        let text = """
            {"templates": [
              {"templateRef": "\(oldTemplate)", "name": "old, detokenized for 30 days", "activeTo": "P30D", "fields": \(fields)},
              {"templateRef": "\(newTemplate)", "name": "new", "fields": \(fields)},
              {"templateRef": "irreversible-old", "name": "irreversible", "irreversible": true, "fields": \(fields)}
            ]}
            """
        let path = folder.path("templates.json")
        try CSVFiles.write(text, to: path)
        return path
    }

    /// A tokenized input of `rows` generated records under the old template: every tenth
    /// record's tokens made by a simulator whose bfids are dated in the first day of 2026 (its
    /// `--deterministic-ids`), long past the 30 days, the others' now. Returns the plaintext
    /// input's path and the tokenized one's.
    static func tokenizedInput(rows: Int, in folder: TestFolder, templates: String) throws -> (plain: String, tokenized: String) {
        let plain = folder.path("cards.csv")
        try CSVFiles.generate(rows: rows, to: plain)
        var outputs: [[[String]]] = []
        var header: [String] = []
        for (name, extra) in [("dated", ["--deterministic-ids"]), ("fresh", [])] {
            let simulator = try SimulatorProcess(["--templates", templates] + extra)
            let output = folder.path("\(name).csv")
            let run = try TestRuns.run(
                ["run", "--endpoint", simulator.url, "--template-ref", oldTemplate, "--input", plain, "--output", output] + mapping)
            _ = simulator.stop()
            #expect(run.status == 0, "\(run.stderr.suffix(2_000))")
            let read = try CSVFiles.read(output)
            header = read.header
            outputs.append(read.rows)
        }
        var text = header.joined(separator: ",") + "\n"
        for row in 0..<rows {
            let fields = outputs[row % 10 == 0 ? 0 : 1][row]
            text += fields.map { $0.contains(",") || $0.contains("\n") ? "\"\($0)\"" : $0 }.joined(separator: ",") + "\n"
        }
        let tokenized = folder.path("tokenized.csv")
        try CSVFiles.write(text, to: tokenized)
        return (plain, tokenized)
    }

    /// The card numbers of a generated input of `rows` records.
    static func cardNumbers(_ rows: Int) -> Set<String> { Set((0..<rows).map { TestCards.pan($0) }) }

    /// The runs of 12 to 19 ASCII digits in `path` (any file: text or SQLite pages) that are one
    /// of `numbers`.
    static func cardNumbersIn(_ path: String, of numbers: Set<String>) -> Int {
        guard let data = FileManager.default.contents(atPath: path) else { return 0 }
        var found = 0
        var run: [UInt8] = []
        for byte in data + [0] {
            if byte >= 0x30 && byte <= 0x39 {
                run.append(byte)
                continue
            }
            if run.count >= 12 && run.count <= 19 && numbers.contains(String(decoding: run, as: UTF8.self)) { found += 1 }
            run.removeAll(keepingCapacity: true)
        }
        return found
    }

    /// 100,000 records, a tenth past the old template's window: killed five times (the service
    /// failing 2% of requests now and then), then resumed to the end. The output holds every
    /// other record, in order, with the tokens of an uninterrupted run, new bfids, and the old
    /// bfid kept; the tenth past the window are rejects with 1403; the new tokens detokenize
    /// under the new template to the original values; no card number of the input is in any
    /// file the runs wrote or in their logs; at most 2 requests per record besides what the
    /// kills and the injected errors cost.
    @Test func aKilledRetokenizeRunMovesEveryTokenOnceWithoutPlaintextAtRest() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let records = 100_000
        let templates = try Self.templates(in: folder)
        let (plain, tokenized) = try Self.tokenizedInput(rows: records, in: folder, templates: templates)
        func arguments(_ url: String, _ output: String) -> [String] {
            ["retokenize", "--endpoint", url, "--from-template", Self.oldTemplate, "--template-ref", Self.newTemplate, "--input", tokenized,
             "--output", output, "--commit-every", "500", "--id-column", "id"] + Self.mapping
        }

        // Uninterrupted: one detokenize per record, one tokenize per record that detokenized.
        let once = try SimulatorProcess(["--templates", templates, "--deterministic-ids"])
        let whole = try TestRuns.run(arguments(once.url, folder.path("whole.csv")))
        let onceCounters = once.stop()
        #expect(whole.status == 2, "finished with rejects: \(whole.stderr.suffix(2_000))")
        #expect(SimulatorProcess.counter("tokenization-detokenize", in: onceCounters) == records)
        #expect(SimulatorProcess.counter("tokenization-tokenize", in: onceCounters) == records * 9 / 10, "\(onceCounters)")
        #expect(whole.stderr.contains("1403: \(records / 10) (outside the old template's detokenization window"), "\(whole.stderr.suffix(2_000))")
        #expect(whole.stderr.contains("retokenize: detokenized under the old template \(records * 9 / 10)"))

        // Killed five times, then resumed.
        let simulator = try SimulatorProcess(["--templates", templates, "--deterministic-ids", "--error-rate", "0.02"])
        let output = folder.path("moved.csv")
        let checkpoint = CheckpointStore.defaultPath(forOutput: output)
        var logs: [String] = []
        var lastCommitted = -1
        var kills = 0
        while kills < 5 {
            let (process, stderr) = try TestRuns.start(arguments(simulator.url, output), environment: ["SWIFT_BACKTRACE": "enable=no"])
            TestRuns.waitForCommit(checkpoint, atLeast: lastCommitted + Int.random(in: 3_000...15_000), while: process)
            guard process.isRunning else { break }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            logs.append(String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
            kills += 1
            lastCommitted = (try CheckpointStore.summary(path: checkpoint)).commitPoint?.seq ?? lastCommitted
        }
        #expect(kills >= 3, "the run was killed \(kills) times")
        let final = try TestRuns.run(arguments(simulator.url, output))
        logs.append(final.stderr)
        let counters = simulator.stop()
        #expect(final.status == 2, "\(final.stderr.suffix(2_000))")

        let expected = try CSVFiles.read(folder.path("whole.csv"))
        let moved = try CSVFiles.read(output)
        let input = try CSVFiles.read(tokenized)
        #expect(moved.header == input.header + ["old_bfid"])
        let (number, exp, cvv, bfid, old) = (1, 2, 3, input.header.firstIndex(of: "bfid")!, input.header.count)
        let kept = input.rows.enumerated().filter { $0.offset % 10 != 0 }.map(\.element)
        // (Compared first, then expected: a failure prints no file.)
        let sameRecords = moved.rows.map { $0[0] } == kept.map { $0[0] }
        let sameTokens = moved.rows.map { [$0[number], $0[exp], $0[cvv]] } == expected.rows.map { [$0[number], $0[exp], $0[cvv]] }
        let oldBfidsKept = moved.rows.map { $0[old] } == kept.map { $0[bfid] }
        let newBfids = zip(moved.rows, kept).allSatisfy { !$0[bfid].isEmpty && $0[bfid] != $1[bfid] }
        let otherColumns = zip(moved.rows, kept).allSatisfy { $0[4] == $1[4] && $0[5] == $1[5] }
        // (The simulator's tokens keep a card number's first six and last four digits.)
        let newTokens = zip(moved.rows, kept).filter { $0[number] != $1[number] }.count >= kept.count * 99 / 100
        #expect(sameRecords, "every record that detokenized, once, in input order")
        #expect(sameTokens, "the tokens of an uninterrupted run")
        #expect(oldBfidsKept && newBfids, "the new bfid in the bfid column, the old one in old_bfid")
        #expect(otherColumns && newTokens, "the other columns as they were, the card number's token a new one")
        let rejects = try CSVFiles.read(output + ".rejects.csv").rows
        let rejectedIds = rejects.map { $0[2] }
        let expiredIds = input.rows.enumerated().filter { $0.offset % 10 == 0 }.map { $0.element[0] }
        #expect(rejects.count == records / 10 && rejects.allSatisfy { $0[3] == "1403" }, "\(rejects.prefix(3))")
        #expect(Set(rejectedIds) == Set(expiredIds))

        // The new tokens detokenize, under the new template, to the original values.
        let detokenizer = try SimulatorProcess(["--templates", templates])
        let back = try TestRuns.run(
            ["detokenize", "--endpoint", detokenizer.url, "--template-ref", Self.newTemplate, "--input", output, "--output", folder.path("back.csv")]
                + Self.mapping)
        _ = detokenizer.stop()
        #expect(back.status == 0, "\(back.stderr.suffix(2_000))")
        let original = try CSVFiles.read(plain).rows.enumerated().filter { $0.offset % 10 != 0 }.map { Array($0.element[0...3]) }
        let detokenized = try CSVFiles.read(folder.path("back.csv")).rows.map { Array($0[0...3]) }
        let sameValues = detokenized == original
        #expect(sameValues, "every new token detokenizes to the original value")

        // No card number at rest or in a log: the output, the rejects, the checkpoint (its WAL too).
        let numbers = Self.cardNumbers(records)
        #expect(Self.cardNumbersIn(plain, of: numbers) == records, "the scan finds the input's card numbers")
        for path in [output, output + ".rejects.csv", checkpoint, checkpoint + "-wal", checkpoint + "-shm"] {
            #expect(Self.cardNumbersIn(path, of: numbers) == 0, "\(path) holds no card number")
        }
        let logText = logs.joined(separator: "\n")
        let logsClean = !numbers.contains { logText.contains($0) }
        #expect(logsClean, "no card number in the runs' logs")

        // Requests: 2 per record that detokenized (1 for those past the window), plus what each
        // kill left unanswered or unstored (at most a window of 4,096 records, two requests
        // each) and the retries of the injected errors.
        let sent = SimulatorProcess.counter("tokenization-detokenize", in: counters) + SimulatorProcess.counter("tokenization-tokenize", in: counters)
        let errors = SimulatorProcess.counter("errors", in: counters)
        #expect(sent - errors <= records * 19 / 10 + kills * 2 * 4_096, "\(sent) requests (\(errors) errors) for \(records) records over \(kills) kills")
    }

    /// The columns of a retokenize output but its new bfids (which the simulator's
    /// `--deterministic-ids` draw from each job's own references).
    static func withoutNewBfids(_ path: String) throws -> [[String]] {
        let read = try CSVFiles.read(path)
        let bfid = read.header.firstIndex(of: "bfid")!
        return read.rows.map { row in row.enumerated().filter { $0.offset != bfid }.map(\.element) }
    }

    /// With `--dedup`, records whose old tokens repeat an earlier record's take its new tokens
    /// and bfid: one detokenize and one tokenize per distinct record, the tokens of a run
    /// without it.
    @Test func aDedupRetokenizeSendsEachDistinctRecordOnce() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let templates = try Self.templates(in: folder)
        let plain = folder.path("cards.csv")
        let distinct = try DedupTests.cardsWithRepeats(rows: 5_000, share: 0.4, to: plain)
        let tokenizer = try SimulatorProcess(["--templates", templates])
        let tokenized = folder.path("tokenized.csv")
        let made = try TestRuns.run(
            ["run", "--endpoint", tokenizer.url, "--template-ref", Self.oldTemplate, "--input", plain, "--output", tokenized] + Self.mapping)
        _ = tokenizer.stop()
        #expect(made.status == 0, "\(made.stderr.suffix(2_000))")
        var outputs: [String: [[String]]] = [:]
        for dedup in [false, true] {
            let simulator = try SimulatorProcess(["--templates", templates, "--deterministic-ids"])
            let output = folder.path(dedup ? "dedup.csv" : "every.csv")
            let run = try TestRuns.run(
                ["retokenize", "--endpoint", simulator.url, "--from-template", Self.oldTemplate, "--template-ref", Self.newTemplate, "--input", tokenized,
                 "--output", output] + Self.mapping + (dedup ? ["--dedup"] : []))
            let counters = simulator.stop()
            #expect(run.status == 0, "\(run.stderr.suffix(2_000))")
            let requests = (
                SimulatorProcess.counter("tokenization-detokenize", in: counters), SimulatorProcess.counter("tokenization-tokenize", in: counters)
            )
            #expect(requests == (dedup ? (distinct, distinct) : (5_000, 5_000)), "\(requests) for \(distinct) distinct records")
            if dedup { #expect(run.stderr.contains("repeats not sent (--dedup: an earlier record's tokens and bfid, the same values): \(5_000 - distinct)")) }
            outputs[output] = try CSVFiles.read(output).rows
        }
        let every = try DedupTests.rows(folder.path("every.csv"))
        let deduplicated = try DedupTests.rows(folder.path("dedup.csv"))
        let sameTokens = every.map(\.tokens) == deduplicated.map(\.tokens) && every.map(\.id) == deduplicated.map(\.id)
        let sharedBfids = DedupTests.repeatsShareTheFirstBfid(deduplicated)
        #expect(sameTokens, "the tokens of a run without --dedup")
        #expect(sharedBfids, "a repeat's new bfid is its first record's")
    }

    /// A gzip input, the same piped through standard input, and the gzip input cut into two
    /// shards by a plan and merged: the same new tokens and old bfids as the plain file's run.
    /// And tokens of an irreversible template are rejects with 1402, said in the summary.
    @Test func retokenizeReadsCompressedAndPipedInputAndRunsInShards() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let templates = try Self.templates(in: folder)
        let simulator = try SimulatorProcess(["--templates", templates, "--deterministic-ids"])
        defer { _ = simulator.stop() }
        let plain = folder.path("cards.csv")
        try CSVFiles.generate(rows: 6_000, to: plain)
        let tokenized = folder.path("tokenized.csv")
        // Tokenized now (the deterministic ids are dated long past the old template's window).
        let tokenizer = try SimulatorProcess(["--templates", templates])
        let made = try TestRuns.run(
            ["run", "--endpoint", tokenizer.url, "--template-ref", Self.oldTemplate, "--input", plain, "--output", tokenized] + Self.mapping)
        _ = tokenizer.stop()
        #expect(made.status == 0, "\(made.stderr.suffix(2_000))")
        let compressed = folder.path("tokenized.csv.gz")
        try Data(try GzipTool.compress(Array(try #require(FileManager.default.contents(atPath: tokenized))), membersOf: 50_000))
            .write(to: URL(fileURLWithPath: compressed))
        func retokenize(_ input: String, _ output: String) -> [String] {
            ["retokenize", "--endpoint", simulator.url, "--from-template", Self.oldTemplate, "--template-ref", Self.newTemplate, "--input", input,
             "--output", output, "--old-bfid-column", "bfid_before"] + Self.mapping
        }
        let reference = try TestRuns.run(retokenize(tokenized, folder.path("plain.out.csv")))
        #expect(reference.status == 0, "\(reference.stderr.suffix(2_000))")
        #expect(try CSVFiles.read(folder.path("plain.out.csv")).header.last == "bfid_before")
        let expected = try Self.withoutNewBfids(folder.path("plain.out.csv"))
        #expect(expected.count == 6_000)

        let gzipped = try TestRuns.run(retokenize(compressed, folder.path("gzip.out.csv")))
        #expect(gzipped.status == 0, "\(gzipped.stderr.suffix(2_000))")
        let sameFromGzip = try Self.withoutNewBfids(folder.path("gzip.out.csv")) == expected
        #expect(sameFromGzip)

        let piped = try PipedRun.run(["/bin/cat", compressed], into: retokenize("-", folder.path("piped.out.csv")) + ["--input-name", "tokenized.csv"])
        #expect(piped.status == 0, "\(piped.stderr.suffix(2_000))")
        let sameFromPipe = try Self.withoutNewBfids(folder.path("piped.out.csv")) == expected
        #expect(sameFromPipe)

        let plan = folder.path("plan.json")
        let planned = try TestRuns.run(["plan", "--input", compressed, "--shards", "2", "--out", plan])
        #expect(planned.status == 0, "\(planned.stderr)")
        let sharded = folder.path("sharded.out.csv")
        for shard in 0..<2 {
            let run = try TestRuns.run(retokenize(compressed, sharded) + ["--plan", plan, "--shard", String(shard)])
            #expect(run.status == 0, "shard \(shard): \(run.stderr.suffix(2_000))")
        }
        let merged = try TestRuns.run(["merge", "--plan", plan, "--output", sharded])
        #expect(merged.status == 0, "\(merged.stderr)")
        let sameFromShards = try Self.withoutNewBfids(sharded) == expected
        #expect(sameFromShards)

        // Tokens of an irreversible template are never detokenized: rejects with 1402.
        let irreversible = folder.path("irreversible.csv")
        let made1402 = try TestRuns.run(
            ["run", "--endpoint", simulator.url, "--template-ref", "irreversible-old", "--input", plain, "--output", irreversible] + Self.mapping)
        #expect(made1402.status == 0, "\(made1402.stderr.suffix(2_000))")
        let refused = try TestRuns.run(
            ["retokenize", "--endpoint", simulator.url, "--from-template", "irreversible-old", "--template-ref", Self.newTemplate, "--input", irreversible,
             "--output", folder.path("refused.csv")] + Self.mapping)
        #expect(refused.status == 2, "\(refused.stderr.suffix(2_000))")
        #expect(refused.stderr.contains("1402: 6000 (irreversible template"), "\(refused.stderr.suffix(2_000))")
        #expect(try CSVFiles.read(folder.path("refused.csv.rejects.csv")).rows.allSatisfy { $0[3] == "1402" })
    }

    /// The same against a server we did not write (Python `websockets`, which keeps its tokens
    /// by bfid and answers detokenize with the spec's `succes`): a file tokenized there is
    /// retokenized there, and its new tokens detokenize to the original values. And `--dedup`
    /// there sends one request per distinct record.
    @Test func retokenizeAndDedupWorkAgainstAServerWeDidNotWrite() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let server = try StrictServer()
        let plain = folder.path("cards.csv")
        try CSVFiles.generate(rows: 4_000, to: plain)
        let template = TestRuns.template
        let tokenized = folder.path("tokenized.csv")
        let made = try StrictServer.command(TestRuns.tokenize(plain, server.url, tokenized))
        #expect(made.status == 0, "\(made.stderr.suffix(2_000))")
        let moved = folder.path("moved.csv")
        let run = try StrictServer.command(
            ["retokenize", "--endpoint", server.url, "--from-template", template, "--template-ref", "card-rotated", "--input", tokenized, "--output", moved]
                + TestRuns.mapping)
        #expect(run.status == 0, "\(run.stderr.suffix(2_000))")
        let back = try StrictServer.command(
            ["detokenize", "--endpoint", server.url, "--template-ref", "card-rotated", "--input", moved, "--output", folder.path("back.csv")]
                + TestRuns.mapping)
        #expect(back.status == 0, "\(back.stderr.suffix(2_000))")
        let original = try CSVFiles.read(plain).rows
        let detokenized = try CSVFiles.read(folder.path("back.csv")).rows.map { Array($0.prefix(original.first!.count)) }
        let sameValues = detokenized == original
        #expect(sameValues, "every new token detokenizes to the original value")
        let input = try CSVFiles.read(tokenized)
        let bfid = input.header.firstIndex(of: "bfid")!
        let rows = try CSVFiles.read(moved).rows
        let oldKept = rows.map { $0.last! } == input.rows.map { $0[bfid] }
        let newBfids = zip(rows, input.rows).allSatisfy { $0[bfid] != $1[bfid] && !$0[bfid].isEmpty }
        #expect(oldKept && newBfids, "new bfids in the bfid column, the old ones after")

        let repeated = folder.path("repeats.csv")
        let distinct = try DedupTests.cardsWithRepeats(rows: 3_000, share: 0.4, to: repeated)
        _ = server.stop()
        let other = try StrictServer()
        let dedup = try StrictServer.command(
            ["run", "--endpoint", other.url, "--template-ref", template, "--input", repeated, "--output", folder.path("dedup.csv"), "--dedup"]
                + TestRuns.mapping)
        let counters = other.stop()
        #expect(dedup.status == 0, "\(dedup.stderr.suffix(2_000))")
        #expect(Int(counters["tokenize"] ?? 0) == distinct, "one request per distinct record")
        let sharedBfids = DedupTests.repeatsShareTheFirstBfid(try DedupTests.rows(folder.path("dedup.csv")))
        #expect(sharedBfids)
        #expect(try CSVFiles.read(folder.path("dedup.csv")).rows.count == 3_000)
    }

    /// A job file's `"action": "retokenize"` (with `fromTemplateRef` and the old bfid's column)
    /// runs through `run --config`; what a retokenize job cannot do is refused before anything
    /// is sent.
    @Test func aJobFileRetokenizesAndWhatDoesNotFitIsRefused() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let templates = try Self.templates(in: folder)
        let simulator = try SimulatorProcess(["--templates", templates])
        defer { _ = simulator.stop() }
        let plain = folder.path("cards.csv")
        try CSVFiles.generate(rows: 300, to: plain)
        let tokenized = folder.path("tokenized.csv")
        let made = try TestRuns.run(
            ["run", "--endpoint", simulator.url, "--template-ref", Self.oldTemplate, "--input", plain, "--output", tokenized] + Self.mapping)
        #expect(made.status == 0, "\(made.stderr.suffix(2_000))")
        let job = folder.path("job.json")
        try CSVFiles.write(
            """
            {"action": "retokenize", "fromTemplateRef": "\(Self.oldTemplate)", "templateRef": "\(Self.newTemplate)",
             "output": {"oldBfidColumn": "bfid_was"},
             "instructions": [{"transformationType": "key", "transformationPath": "card_number", "fieldName": "card_number"},
                              {"transformationType": "key", "transformationPath": "card_exp", "fieldName": "card_exp"}]}
            """, to: job)
        let output = folder.path("moved.csv")
        let run = try TestRuns.run(["run", "--config", job, "--endpoint", simulator.url, "--input", tokenized, "--output", output, "--report", folder.path("report.json")])
        #expect(run.status == 0, "\(run.stderr.suffix(2_000))")
        let moved = try CSVFiles.read(output)
        #expect(moved.header.last == "bfid_was" && moved.rows.count == 300)
        let report = try JSONText.object(String(contentsOfFile: folder.path("report.json"), encoding: .utf8))
        let records = try #require(report["records"] as? [String: Any])
        #expect(records["detokenizedToRetokenize"] as? Int == 300, "\(records)")
        #expect((report["job"] as? [String: Any])?["fromTemplateRef"] as? String == Self.oldTemplate)

        // NDJSON: the bfid key's value replaced, the old one under a key of its own.
        var lines = ""
        for index in 0..<50 { lines += #"{"id": "n\#(index)", "card": {"number": "\#(TestCards.pan(index))"}, "note": "ok"}"# + "\n" }
        try CSVFiles.write(lines, to: folder.path("cards.ndjson"))
        let jsonMapping = ["--map", "$.card.number=card_number"]
        let jsonMade = try TestRuns.run(
            ["run", "--endpoint", simulator.url, "--template-ref", Self.oldTemplate, "--input", folder.path("cards.ndjson"), "--output", folder.path("tokenized.ndjson")]
                + jsonMapping)
        #expect(jsonMade.status == 0, "\(jsonMade.stderr.suffix(2_000))")
        let jsonMoved = try TestRuns.run(
            ["retokenize", "--endpoint", simulator.url, "--from-template", Self.oldTemplate, "--template-ref", Self.newTemplate,
             "--input", folder.path("tokenized.ndjson"), "--output", folder.path("moved.ndjson")] + jsonMapping)
        #expect(jsonMoved.status == 0, "\(jsonMoved.stderr.suffix(2_000))")
        let before = try String(contentsOfFile: folder.path("tokenized.ndjson"), encoding: .utf8).split(separator: "\n").map { try JSONText.object(String($0)) }
        let after = try String(contentsOfFile: folder.path("moved.ndjson"), encoding: .utf8).split(separator: "\n").map { try JSONText.object(String($0)) }
        #expect(after.count == 50)
        for (old, new) in zip(before, after) {
            #expect(new["old_bfid"] as? String == old["bfid"] as? String && new["bfid"] as? String != old["bfid"] as? String && new["note"] as? String == "ok")
            #expect(Set(new.keys) == ["id", "card", "note", "bfid", "old_bfid"])
        }

        let base = ["retokenize", "--endpoint", simulator.url, "--template-ref", Self.newTemplate, "--input", tokenized, "--output", folder.path("x.csv")]
            + Self.mapping
        for (extra, reason) in [
            ([String](), "retokenize needs the old template"),
            (["--from-template", Self.oldTemplate, "--store"], "Unknown option '--store'"),
            (["--from-template", Self.oldTemplate, "--dedup", "--template-not-idempotent"], "--dedup needs a template that gives the same token"),
            (["--from-template", Self.oldTemplate, "--old-bfid-column", "bfid"], "the old bfid column must be named, and not as the bfid column"),
            (["--from-template", Self.oldTemplate, "--old-bfid-column", "name"], "the input already has a column 'name'"),
            (["--from-template", "no-such-template"], "template-validate failed for templateRef no-such-template"),
        ] {
            let refused = try TestRuns.run(base + extra)
            #expect(refused.status != 0 && refused.stderr.contains(reason), "\(extra): \(refused.stderr.suffix(1_000))")
        }
        try CSVFiles.write(#"{"action": "retokenize", "fromTemplateRef": "\#(Self.oldTemplate)", "store": true}"#, to: job)
        let stored = try TestRuns.run(["run", "--config", job] + base.dropFirst())
        #expect(stored.status == 64 && stored.stderr.contains("--store is for tokenize jobs"), "\(stored.stderr)")
        let wrongCommand = try TestRuns.run(["run", "--endpoint", simulator.url, "--template-ref", Self.newTemplate, "--from-template", Self.oldTemplate])
        #expect(wrongCommand.status == 64, "\(wrongCommand.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder.path("x.csv")))
    }
}

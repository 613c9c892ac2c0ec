import Checkpoint
import Foundation
import ShieldConex
import Testing
import TestSupport

/// Issue 29: repeated values. A dry run says how many values repeat an earlier one (per field,
/// and records whose values all repeat an earlier record's: what deduplication would not send),
/// counted by keyed digests: no card number is printed or held.
@Suite(.serialized) struct DedupTests {
    @Test func aDryRunCountsRepeatedValuesPerFieldAndPerRecord() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        // 30 distinct cards, then 20 rows repeating the first 10 twice over (one with a new CVV:
        // its number repeats, the record does not), and 2 rows with no card number.
        var lines = ["id,card_number,card_cvv"]
        for index in 0..<30 { lines.append("r\(index),\(TestCards.pan(index)),\(100 + index)") }
        for index in 0..<20 { lines.append("s\(index),\(TestCards.pan(index % 10)),\(index == 19 ? 999 : 100 + index % 10)") }
        lines += ["e1,,5", "e2,,6"]
        let input = folder.path("cards.csv")
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: input))
        let dry = try BinaryLauncher.run([
            "run", "--input", input, "--map", "card_number=card_number:skip-empty", "--map", "card_cvv=card_cvv", "--dry-run",
        ])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("card_number: 20 of 50 repeat an earlier one (40.0%)"), "\(dry.stdout)")
        #expect(dry.stdout.contains("card_cvv: 19 of 52 repeat an earlier one (36.5%)"), "\(dry.stdout)")
        #expect(dry.stdout.contains("records (all their values): 19 of 52 repeat an earlier one (36.5%)"), "\(dry.stdout)")
        for index in 0..<30 { #expect(!dry.stdout.contains(TestCards.pan(index)) && !dry.stderr.contains(TestCards.pan(index))) }
    }

    /// A CSV of `rows` records, `id,card_number,card_exp,card_cvv`, where about `share` of them
    /// repeat an earlier record's card (number, expiry and CVV alike), drawn by a seeded
    /// generator; returns the number of distinct cards.
    static func cardsWithRepeats(rows: Int, share: Double, to path: String) throws -> Int {
        var random = SplitMix64(seed: 29)
        var text = "id,card_number,card_exp,card_cvv\n"
        var distinct = 0
        for row in 0..<rows {
            let card: Int
            if distinct > 0 && Double(random.next() % 1_000) < share * 1_000 {
                card = Int(random.next() % UInt64(distinct))
            } else {
                card = distinct
                distinct += 1
            }
            text += "r\(row),\(TestCards.pan(card + 1)),\(String(format: "%02d", card % 12 + 1))\(28 + card % 5),\(100 + card % 900)\n"
        }
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return distinct
    }

    static let mapping = ["--map", "card_number=card_number", "--map", "card_exp=card_exp", "--map", "card_cvv=card_cvv"]

    /// The output's rows by id: tokens and bfid.
    static func rows(_ path: String) throws -> [(id: String, tokens: [String], bfid: String)] {
        let read = try CSVFiles.read(path)
        let columns = ["card_number", "card_exp", "card_cvv"].map { read.header.firstIndex(of: $0)! }
        let bfid = read.header.firstIndex(of: "bfid")!
        return read.rows.map { row in (row[0], columns.map { row[$0] }, row[bfid]) }
    }

    /// Every record with the same tokens as an earlier one has that record's bfid.
    static func repeatsShareTheFirstBfid(_ rows: [(id: String, tokens: [String], bfid: String)]) -> Bool {
        var first: [[String]: String] = [:]
        for row in rows {
            if let bfid = first[row.tokens], bfid != row.bfid { return false }
            first[row.tokens] = first[row.tokens] ?? row.bfid
        }
        return true
    }

    @Test func aDedupRunSendsEachDistinctRecordOnceAndWritesTheSameTokens() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let input = folder.path("cards.csv")
        let distinct = try Self.cardsWithRepeats(rows: 5_000, share: 0.4, to: input)
        #expect(distinct < 3_200 && distinct > 2_800)
        let plain = try SimulatorProcess(["--deterministic-ids"])
        let everyRecord = try TestRuns.run(
            ["run", "--endpoint", plain.url, "--template-ref", TestRuns.template, "--input", input, "--output", folder.path("plain.csv")] + Self.mapping)
        #expect(everyRecord.status == 0, "\(everyRecord.stderr)")
        #expect(SimulatorProcess.counter("tokenization-tokenize", in: plain.stop()) == 5_000)

        let simulator = try SimulatorProcess(["--deterministic-ids"])
        let deduplicated = try TestRuns.run(
            ["run", "--endpoint", simulator.url, "--template-ref", TestRuns.template, "--input", input, "--output", folder.path("dedup.csv"), "--dedup",
             "--metrics-file", folder.path("metrics.prom")]
                + Self.mapping)
        #expect(deduplicated.status == 0, "\(deduplicated.stderr)")
        #expect(SimulatorProcess.counter("tokenization-tokenize", in: simulator.stop()) == distinct, "one request per distinct record")
        #expect(deduplicated.stderr.contains("repeats not sent (--dedup: an earlier record's tokens and bfid, the same values): \(5_000 - distinct)"))
        let metrics = String(decoding: FileManager.default.contents(atPath: folder.path("metrics.prom")) ?? Data(), as: UTF8.self)
        #expect(metrics.contains("state=\"deduplicated\"} \(5_000 - distinct)"), "\(metrics)")
        let expected = try Self.rows(folder.path("plain.csv"))
        let rows = try Self.rows(folder.path("dedup.csv"))
        // (Compared first, then expected: a failure prints no file.)
        let sameRecords = rows.map(\.id) == expected.map(\.id)
        let sameTokens = rows.map(\.tokens) == expected.map(\.tokens)
        let sharedBfids = Self.repeatsShareTheFirstBfid(rows)
        #expect(sameRecords, "every record once, in input order")
        #expect(sameTokens, "the same tokens as a run that sends every record")
        #expect(sharedBfids, "a repeat's bfid is its first record's")
        #expect(Set(rows.map(\.bfid)).count == distinct)
    }

    @Test func aKilledDedupRunResumesWithTheSameTokensAndSendsFewRepeatsAgain() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let input = folder.path("cards.csv")
        let records = 40_000
        let distinct = try Self.cardsWithRepeats(rows: records, share: 0.4, to: input)
        let plain = try SimulatorProcess(["--deterministic-ids"])
        let everyRecord = try TestRuns.run(
            ["run", "--endpoint", plain.url, "--template-ref", TestRuns.template, "--input", input, "--output", folder.path("plain.csv")] + Self.mapping)
        #expect(everyRecord.status == 0, "\(everyRecord.stderr)")
        _ = plain.stop()

        // The service throttles now and then: records wait for their first occurrence's retries.
        let simulator = try SimulatorProcess(["--deterministic-ids", "--error-rate", "0.02"])
        let output = folder.path("dedup.csv")
        let checkpoint = CheckpointStore.defaultPath(forOutput: output)
        let arguments = ["run", "--endpoint", simulator.url, "--template-ref", TestRuns.template, "--input", input, "--output", output, "--dedup", "--commit-every", "500"]
            + Self.mapping
        var lastCommitted = -1
        var kills = 0
        while kills < 6 {
            let (process, _) = try TestRuns.start(arguments, environment: ["SWIFT_BACKTRACE": "enable=no"])
            TestRuns.waitForCommit(checkpoint, atLeast: lastCommitted + Int.random(in: 1_000...5_000), while: process)
            guard process.isRunning else { break }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            kills += 1
            lastCommitted = (try CheckpointStore.summary(path: checkpoint)).commitPoint?.seq ?? lastCommitted
        }
        #expect(kills >= 3, "the run was killed \(kills) times")
        let final = try TestRuns.run(arguments)
        #expect(final.status == 0, "\(final.stderr)")
        let counters = simulator.stop()
        let expected = try Self.rows(folder.path("plain.csv"))
        let rows = try Self.rows(output)
        let sameRecords = rows.map(\.id) == expected.map(\.id)
        let sameTokens = rows.map(\.tokens) == expected.map(\.tokens)
        let sharedBfids = Self.repeatsShareTheFirstBfid(rows)
        #expect(sameRecords, "every record once, in input order")
        #expect(sameTokens, "the same tokens as a run that sends every record")
        #expect(sharedBfids, "a repeat's bfid is its first record's, across kills")
        // Requests: each distinct record once, plus what each kill left unanswered or unstored
        // (at most a window of 4,096 each) and the retries of the injected errors.
        let sent = SimulatorProcess.counter("tokenization-tokenize", in: counters)
        let errors = SimulatorProcess.counter("errors", in: counters)
        #expect(sent - errors <= distinct + kills * 4_096, "\(sent) requests (\(errors) errors) for \(distinct) distinct records over \(kills) kills")
        #expect(sent < records, "fewer requests than records: \(sent)")
    }

    @Test func dedupIsRefusedWhereRepeatsCannotShareAnAnswer() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let input = folder.path("cards.csv")
        _ = try Self.cardsWithRepeats(rows: 10, share: 0.4, to: input)
        let base = ["run", "--endpoint", "local", "--template-ref", TestRuns.template, "--input", input, "--output", folder.path("out.csv"), "--dedup"] + Self.mapping
        for (extra, reason) in [
            (["--store"], "--dedup does not go with --store or --omit"), (["--store", "--omit"], "--dedup does not go with --store or --omit"),
            (["--template-not-idempotent"], "--dedup needs a template that gives the same token for the same value"),
        ] {
            let refused = try TestRuns.run(base + extra)
            #expect(refused.status == 64 && refused.stderr.contains(reason), "\(extra): \(refused.stderr)")
        }
        let job = folder.path("job.json")
        try Data(#"{"action": "detokenize", "dedup": true}"#.utf8).write(to: URL(fileURLWithPath: job))
        let detokenize = try TestRuns.run(base + ["--config", job])
        #expect(detokenize.status == 64 && detokenize.stderr.contains("--dedup is for tokenize and retokenize jobs"), "\(detokenize.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder.path("out.csv")))
    }
}

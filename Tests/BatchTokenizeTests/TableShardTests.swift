import Checkpoint
import Foundation
import Testing
import TestSupport

/// A table cut into key ranges by `plan` and tokenized by its shards side by side, as an Indexed
/// Job would: into a new table and in place, one shard killed and resumed, rows inserted after
/// the plan taken by the shard of their key; `status --plan` shows every shard, `merge` says
/// there is nothing to merge. A plan that no longer fits its table is refused before a row is sent.
@Suite(.serialized) struct TableShardTests {
    /// Runs the executable in `folder` (where a table output's own files go, named after the table).
    static func run(_ arguments: [String], _ server: PostgresServer, in folder: TestFolder) throws -> BinaryLauncher.Outcome {
        try BinaryLauncher.run(arguments, environment: ["SCX_API_KEY": TestKeys.simulator].merging(server.environment) { $1 }, directory: folder.path)
    }

    /// Starts the executable in `folder`, its output and errors to a file of its own.
    static func start(_ arguments: [String], _ server: PostgresServer, in folder: TestFolder, log: String) throws -> Process {
        let process = BinaryLauncher.process(
            arguments, environment: ["SCX_API_KEY": TestKeys.simulator].merging(server.environment) { $1 }, directory: folder.path)
        _ = FileManager.default.createFile(atPath: folder.path(log), contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: folder.path(log)))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }

    static func plan(_ path: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
    }

    @Test func shardsOfAPlanTokenizeATableSideBySide() throws {
        let server = try PostgresServer()
        defer { server.stop() }
        try TableInputTests.createCards(server, rows: 20_000)
        try server.psql("ALTER TABLE cards ADD COLUMN bfid text")
        let folder = try TestFolder()
        defer { folder.remove() }
        let simulator = try SimulatorProcess(["--deterministic-ids"])
        defer { _ = simulator.stop() }
        let input = TableOutputTests.url(server, table: "cards")

        let planned = try Self.run(["plan", "--input", input, "--shards", "4", "--out", "plan.json"], server, in: folder)
        #expect(planned.status == 0, "\(planned.stderr)")
        #expect(planned.stdout.contains("planned 20000 rows of cards in 4 key ranges (5000 to 5000 rows each)"), "\(planned.stdout)")
        let shards = try Self.plan(folder.path("plan.json"))["shards"] as! [[String: Any]]
        #expect(shards.map { $0["afterKey"] as? String } == [nil, "50000", "100000", "150000"])
        #expect(shards.map { $0["throughKey"] as? String } == ["50000", "100000", "150000", nil])

        // Rows inserted after the plan: one inside shard 2's range, three past the last key (the last shard's).
        let inserted = [100_005, 200_010, 200_020, 200_030]
        for (offset, id) in inserted.enumerated() {
            try server.psql("INSERT INTO cards VALUES (\(id), '\(TestCards.pan(30_000 + offset))', '0129', '123', '{}')")
        }
        try server.psql("CREATE TABLE straight (LIKE cards INCLUDING ALL); INSERT INTO straight SELECT * FROM cards")

        func arguments(_ index: Int, output: String) -> [String] {
            ["run", "--plan", "plan.json", "--shard", "\(index)", "--endpoint", simulator.url, "--template-ref", TestRuns.template, "--output", output,
             "--commit-every", "500"] + TestRuns.mapping
        }
        // Into a new table, the four shards at once (each creates it if absent, and the progress table).
        let newTable = TableOutputTests.url(server, table: "cards_tokens", key: nil)
        let writing = try (0..<4).map { try Self.start(arguments($0, output: newTable), server, in: folder, log: "new-\($0).log") }
        for process in writing { process.waitUntilExit() }
        for index in 0..<4 {
            #expect(writing[index].terminationStatus == 0, "shard \(index): \(folder.text("new-\(index).log").suffix(1500))")
        }

        // In place, the four at once, shard 1 killed at a commit and run again.
        let inPlace = TableOutputTests.url(server, table: "cards", key: nil)
        var running = try (0..<4).map { try Self.start(arguments($0, output: inPlace), server, in: folder, log: "in-place-\($0).log") }
        TestRuns.waitForCommit(folder.path("cards.shard-1.checkpoint.sqlite"), atLeast: 5_000 + 1_000, while: running[1])
        let killed = running[1].isRunning
        kill(running[1].processIdentifier, SIGKILL)
        running[1].waitUntilExit()
        running[1] = try Self.start(arguments(1, output: inPlace), server, in: folder, log: "in-place-1-again.log")
        for process in running { process.waitUntilExit() }
        for (index, process) in running.enumerated() {
            #expect(process.terminationStatus == 0, "shard \(index): \(folder.text("in-place-\(index).log"))")
        }
        #expect(killed, "shard 1 was killed while running")

        // The same table tokenized whole, in place: the shards' table is row for row the same.
        let whole = try Self.run(
            ["run", "--endpoint", simulator.url, "--template-ref", TestRuns.template, "--input", TableOutputTests.url(server, table: "straight"),
             "--output", TableOutputTests.url(server, table: "straight", key: nil)] + TestRuns.mapping, server, in: folder)
        #expect(whole.status == 0, "\(whole.stderr)")
        let missing = try server.psql("SELECT min(id), max(id), count(*) FROM cards WHERE bfid IS NULL")
        let missingNew = try server.psql("SELECT count(*) FROM cards c WHERE NOT EXISTS (SELECT 1 FROM cards_tokens t WHERE t.id = c.id)")
        #expect(missing == "||0\n" && missingNew == "0\n", "rows never written: in place \(missing), new table \(missingNew); the killed shard's runs: \(folder.text("in-place-1.log").suffix(800)) \(folder.text("in-place-1-again.log").suffix(1500))")
        let sharded = try TableOutputTests.contents(server, table: "cards")
        #expect(sharded.count == 20_004)
        #expect(sharded == (try TableOutputTests.contents(server, table: "straight")), "every row tokenized once, the inserted ones by the shard of their key")
        #expect(try server.psql("SELECT count(*) FROM cards WHERE bfid IS NULL") == "0\n")
        // The new table: every row, the same tokens.
        #expect(
            try server.psql("SELECT count(*), count(*) FILTER (WHERE t.card_number = c.card_number AND t.card_cvv = c.card_cvv) FROM cards_tokens t JOIN cards c USING (id)")
                == "20004|20004\n")
        // A progress row of its own for each shard of each job (two jobs: two destinations), and the whole run's.
        #expect(try server.psql("SELECT count(*) FILTER (WHERE job LIKE '%:shard-_-of-4'), count(*), bool_and(complete) FROM batch_tokenize_progress") == "8|9|t\n")

        let status = try Self.run(["status", "--plan", "plan.json", "--output", inPlace], server, in: folder)
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains("shard 2 (keys after 100000 through 150000): 5001 of ~5000 planned committed, 0 rejected, complete"), "\(status.stdout)")
        #expect(status.stdout.contains("shard 3 (keys after 150000 to the end): 5003 of ~5000 planned committed"), "\(status.stdout)")
        #expect(status.stdout.contains("every shard is complete: the table holds every shard's rows (nothing to merge)"), "\(status.stdout)")
        let merge = try Self.run(["merge", "--plan", "plan.json", "--output", inPlace], server, in: folder)
        #expect(merge.status == 0 && merge.stdout.contains("nothing to merge"), "\(merge.stdout)\(merge.stderr)")
        #expect(!status.stdout.contains(PostgresServer.password) && !merge.stdout.contains(PostgresServer.password))
    }

    /// Shards writing files merge into what one run writes, byte for byte; a plan edited, made for
    /// another table or over a table altered since is refused, nothing sent.
    @Test func aTablePlansShardsMergeIntoOneRunsFileAndAStalePlanIsRefused() throws {
        let server = try PostgresServer()
        defer { server.stop() }
        try TableInputTests.createCards(server, rows: 3_000)
        let folder = try TestFolder()
        defer { folder.remove() }
        let simulator = try SimulatorProcess(["--deterministic-ids"])
        defer { _ = simulator.stop() }
        let input = TableOutputTests.url(server, table: "cards")
        #expect(try Self.run(["plan", "--input", input, "--shards", "3", "--out", "plan.json"], server, in: folder).status == 0)
        let job = ["--endpoint", simulator.url, "--template-ref", TestRuns.template] + TestRuns.mapping
        for index in 0..<3 {
            let shard = try Self.run(["run", "--plan", "plan.json", "--shard", "\(index)", "--output", "out.ndjson"] + job, server, in: folder)
            #expect(shard.status == 0, "\(shard.stderr)")
        }
        let merged = try Self.run(["merge", "--plan", "plan.json", "--output", "out.ndjson"], server, in: folder)
        #expect(merged.status == 0, "\(merged.stdout)\(merged.stderr)")
        #expect(merged.stdout.contains("the books balance: 3000 records"), "\(merged.stdout)")
        let single = try Self.run(["run", "--input", input, "--output", "single.ndjson"] + job, server, in: folder)
        #expect(single.status == 0, "\(single.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: folder.path("out.ndjson"))) == Data(contentsOf: URL(fileURLWithPath: folder.path("single.ndjson"))))

        // An edited plan: shard 0 made to reach into shard 1's range.
        var plan = try Self.plan(folder.path("plan.json"))
        var shards = plan["shards"] as! [[String: Any]]
        shards[0]["throughKey"] = "15000"
        shards[1]["afterKey"] = "15000"
        plan["shards"] = shards
        try JSONSerialization.data(withJSONObject: plan).write(to: URL(fileURLWithPath: folder.path("edited.json")))
        let cases: [([String], String)] = [
            (["run", "--plan", "edited.json", "--shard", "0", "--output", "edited.ndjson"] + job, "the plan was edited"),
            (["run", "--plan", "plan.json", "--shard", "0", "--output", "nightly.ndjson", "--since-last-run"] + job, "--since-last-run does not go with --plan"),
            (["plan", "--input", input, "--shards", "2", "--out", "p.json", "--format", "csv"], "are for files"),
            (["plan", "--input", TableOutputTests.url(server, table: "empty"), "--shards", "2", "--out", "p.json"], "has no rows"),
        ]
        try server.psql("CREATE TABLE empty (id bigint PRIMARY KEY)")
        for (arguments, message) in cases {
            let outcome = try Self.run(arguments, server, in: folder)
            #expect(outcome.status == 64 && (outcome.stderr + outcome.stdout).contains(message), "\(message): \(outcome.stderr)")
        }
        // The table altered after the plan was made.
        try server.psql("ALTER TABLE cards ADD COLUMN note text")
        let altered = try Self.run(["run", "--plan", "plan.json", "--shard", "1", "--output", "altered.ndjson"] + job, server, in: folder)
        #expect(altered.status == 64 && altered.stderr.contains("was altered (columns added, dropped or retyped) since the plan was made"), "\(altered.stderr)")
    }
}

extension TestFolder {
    /// A file's text, or nothing if it cannot be read (for a failed expectation's message).
    fileprivate func text(_ name: String) -> String { (try? String(contentsOfFile: path(name), encoding: .utf8)) ?? "" }
}

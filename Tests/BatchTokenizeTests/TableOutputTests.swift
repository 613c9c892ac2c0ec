import Checkpoint
import Foundation
import Testing
import TestSupport

/// Tokens written back into PostgreSQL, on a server the tests start: in place (the input's own
/// table) and into a new table, a commit's rows and the job's progress row in one transaction.
/// Killed twenty times while the service fails and throttles, an in-place job tokenizes
/// every row exactly once: the table ends as an uninterrupted run's, and no row holds a token of
/// a token.
@Suite(.serialized) struct TableOutputTests {
    static func url(_ server: PostgresServer, table: String, key: String? = "id") -> String {
        server.url(query: "table=\(table)" + (key.map { "&key=\($0)" } ?? ""))
    }

    /// The mapped columns and the bfid of every row, in key order.
    static func contents(_ server: PostgresServer, table: String) throws -> [String] {
        try server.psql("SELECT id, card_number, card_exp, card_cvv, bfid IS NOT NULL FROM \(table) ORDER BY id").split(separator: "\n").map(String.init)
    }

    @Test func anInPlaceJobKilledAndResumedTokenizesEveryRowOnce() throws {
        let server = try PostgresServer()
        defer { server.stop() }
        let rows = 200_000
        try TableInputTests.createCards(server, rows: rows)
        try server.psql("ALTER TABLE cards ADD COLUMN bfid text; CREATE TABLE straight (LIKE cards INCLUDING ALL); INSERT INTO straight SELECT * FROM cards")
        let folder = try TestFolder()
        defer { folder.remove() }
        // Failing (transient errors) and throttling beyond 40,000 requests a second.
        let simulator = try SimulatorProcess(["--deterministic-ids", "--latency-ms", "1", "--error-rate", "0.002", "--rate-limit", "40000"])
        defer { _ = simulator.stop() }
        let map = ["--map", "card_number=card_number", "--map", "card_exp=card_exp", "--map", "card_cvv=card_cvv"]
        func arguments(_ table: String) -> [String] {
            ["run", "--endpoint", simulator.url, "--template-ref", TestRuns.template, "--input", Self.url(server, table: table),
             "--output", Self.url(server, table: table, key: nil), "--checkpoint", folder.path("\(table).sqlite"),
             "--rejects", folder.path("\(table).rejects.csv"), "--commit-every", "2000"] + map
        }
        var whole = try TestRuns.run(arguments("straight"), environment: server.environment)
        // A transient failure that outlived its budget leaves records for the next run.
        while whole.status == 75 { whole = try TestRuns.run(arguments("straight"), environment: server.environment) }
        #expect(whole.status == 0, "\(whole.stderr)")

        let checkpoint = folder.path("cards.sqlite")
        var kills = 0
        var lastCommitted = -1
        while kills < 20 {
            let (process, _) = try TestRuns.start(arguments("cards"), environment: server.environment)
            TestRuns.waitForCommit(checkpoint, atLeast: lastCommitted + 2_000 + Int.random(in: 0...6_000), while: process)
            let running = process.isRunning
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            guard running else { break }
            kills += 1
            lastCommitted = (try? CheckpointStore.summary(path: checkpoint).commitPoint?.seq) ?? lastCommitted
        }
        #expect(kills == 20, "the run was killed \(kills) times")
        // The checkpoint lost (or a kill between the database's commit and the checkpoint's): the
        // database's progress row says where the job stands, and no tokenized row is read again.
        for suffix in ["", "-wal", "-shm"] { unlink(checkpoint + suffix) }
        var last = try TestRuns.run(arguments("cards"), environment: server.environment)
        while last.status == 75 { last = try TestRuns.run(arguments("cards"), environment: server.environment) }
        #expect(last.status == 0, "\(last.stderr)")

        let resumed = try Self.contents(server, table: "cards")
        #expect(resumed.count == rows)
        #expect(resumed == (try Self.contents(server, table: "straight")), "every row as the uninterrupted run left it: tokenized once, never twice")
        // No card number of the input is left in the table.
        let numbers = Set(try server.psql("SELECT card_number FROM cards").split(separator: "\n").map(String.init))
        #expect((1...rows).allSatisfy { !numbers.contains(TestCards.pan($0)) })
        #expect(try server.psql("SELECT count(*) FROM cards WHERE bfid IS NULL") == "0\n")
        #expect(try server.psql("SELECT complete, seq FROM batch_tokenize_progress WHERE relation = 'cards'") == "t|\(rows - 1)\n")
        #expect(!last.stderr.contains(PostgresServer.password))
    }

    @Test func aNewTableReceivesKeysTokensAndBfids() throws {
        let server = try PostgresServer()
        defer { server.stop() }
        try TableInputTests.createCards(server, rows: 2_000)
        try server.psql("UPDATE cards SET card_number = NULL WHERE id = 30")
        let before = try server.psql("SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM cards t")
        let folder = try TestFolder()
        defer { folder.remove() }
        let simulator = try SimulatorProcess(["--deterministic-ids"])
        defer { _ = simulator.stop() }
        let outcome = try TestRuns.run(
            ["run", "--endpoint", simulator.url, "--template-ref", TestRuns.template, "--input", Self.url(server, table: "cards"),
             "--output", Self.url(server, table: "cards_tokens", key: nil), "--bfid-column", "token_bfid", "--checkpoint", folder.path("c.sqlite"),
             "--rejects", folder.path("r.csv"), "--map", "card_number=card_number", "--map", "card_cvv=card_cvv"],
            environment: server.environment)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(try server.psql("SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM cards t") == before, "the source is untouched")
        #expect(try server.psql("SELECT count(*), count(token_bfid), count(card_number) FROM cards_tokens") == "2000|2000|1999\n", "the row without a card number has its CVV tokenized (and a bfid)")
        let columns = try server.psql("SELECT attname FROM pg_attribute WHERE attrelid = 'cards_tokens'::regclass AND attnum > 0 ORDER BY attnum")
        #expect(columns == "id\ncard_number\ncard_cvv\ntoken_bfid\n")
        let tokens = try server.psql("SELECT c.card_number FROM cards c JOIN cards_tokens t USING (id) WHERE c.card_number = t.card_number")
        #expect(tokens.isEmpty, "every card number replaced by its token")
    }

    /// Whole text columns are read and written as CSV lines (no JSON on either side); the rows
    /// they make are the JSON form's (a `jsonpath` mapping takes that form), byte for byte:
    /// keys holding commas, quotes, tabs, line breaks and backslashes; NULLs that stay NULL and
    /// empty strings that stay empty; no bfid (NULL) for the row with nothing to tokenize.
    @Test func awkwardKeysAndValuesComeOutAsTheJSONFormWritesThem() throws {
        let server = try PostgresServer()
        defer { server.stop() }
        let keys = ["plain", "a,b", "q\"uote", "back\\slash", "tab\there", "line\nbreak", "cr\r\nlf", "\\N", "", " spaced "]
        let escaped = keys.map { "E'" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'")
            .replacingOccurrences(of: "\t", with: "\\t").replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\r", with: "\\r") + "'" }
        var rows: [String] = []
        for (index, key) in escaped.enumerated() {
            // Every third row's card number NULL, the next one's empty; the fifth row has nothing to tokenize.
            let pan = index % 3 == 1 ? "NULL" : index % 3 == 2 ? "''" : "'\(TestCards.pan(index + 1))'"
            let cvv = index == 4 ? "NULL" : "'\(100 + index)'"
            rows.append("(\(key), \(pan), \(index == 4 ? "NULL" : "'1229'"), \(cvv))")
        }
        try server.psql(
            "CREATE TABLE awkward (id text PRIMARY KEY, card_number text, card_exp text, card_cvv text, bfid text); "
                + "INSERT INTO awkward (id, card_number, card_exp, card_cvv) VALUES \(rows.joined(separator: ", ")); "
                + "CREATE TABLE awkward_json (LIKE awkward INCLUDING ALL); INSERT INTO awkward_json SELECT * FROM awkward")
        let folder = try TestFolder()
        defer { folder.remove() }
        let simulator = try SimulatorProcess(["--deterministic-ids"])
        defer { _ = simulator.stop() }
        func run(_ input: String, _ output: String, _ map: [String], rows shape: String) throws {
            let outcome = try TestRuns.run(
                ["run", "--endpoint", simulator.url, "--template-ref", TestRuns.template, "--input", Self.url(server, table: input),
                 "--output", Self.url(server, table: output, key: nil), "--checkpoint", folder.path("\(output).sqlite"),
                 "--rejects", folder.path("\(output).csv"), "--log-level", "debug"] + map,
                environment: server.environment)
            #expect(outcome.status == 0, "\(outcome.stderr)")
            #expect(outcome.stderr.contains("reading a table rows=\(shape)"), "rows read as \(shape)")
        }
        let fields = ["--map", "card_number=card_number", "--map", "card_exp=card_exp", "--map", "card_cvv=card_cvv"]
        let json = ["--map", "$.card_number=card_number", "--map", "card_exp=card_exp", "--map", "card_cvv=card_cvv"]
        try run("awkward", "awkward_tokens", fields, rows: "fields")
        try run("awkward", "awkward_tokens_json", json, rows: "json")
        try run("awkward", "awkward", fields, rows: "fields")
        try run("awkward_json", "awkward_json", json, rows: "json")
        // (A bfid differs from one run to the next: only whether there is one is compared.)
        let dump = { (table: String) in
            try server.psql("SELECT md5(string_agg(format('%L|%L|%L|%L|%s', id, card_number, card_exp, card_cvv, bfid IS NULL), ',' ORDER BY id)) FROM \(table)")
        }
        #expect(try dump("awkward_tokens") == dump("awkward_tokens_json"), "a new table's rows as the JSON form writes them")
        #expect(try dump("awkward") == dump("awkward_json"), "the rows tokenized in place as the JSON form tokenizes them")
        #expect(try dump("awkward") == dump("awkward_tokens"))
        #expect(try server.psql("SELECT count(*) FROM awkward") == "\(keys.count)\n")
        #expect(
            try server.psql("SELECT count(*) FILTER (WHERE card_number IS NULL), count(*) FILTER (WHERE card_number = ''), count(*) FILTER (WHERE bfid IS NULL) FROM awkward")
                == "3|3|1\n", "NULLs stay NULL, empty strings empty; the row with nothing to tokenize has no bfid")
    }

    /// An in-place commit joins its staged rows to the table through the key's index: no commit
    /// reads the whole table (the planner, left to itself, hashed every row of it for each
    /// commit's few thousand: a job's time grew with the square of the table's size).
    @Test func inPlaceCommitsNeverScanTheWholeTable() throws {
        let server = try PostgresServer()
        defer { server.stop() }
        let rows = 30_000
        try TableInputTests.createCards(server, rows: rows)
        try server.psql("ALTER TABLE cards ADD COLUMN bfid text")
        try server.psql("VACUUM ANALYZE cards")
        let scansBefore = try server.psql("SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'cards'")
        let folder = try TestFolder()
        defer { folder.remove() }
        let simulator = try SimulatorProcess(["--deterministic-ids"])
        defer { _ = simulator.stop() }
        let outcome = try TestRuns.run(
            ["run", "--endpoint", simulator.url, "--template-ref", TestRuns.template, "--input", Self.url(server, table: "cards"),
             "--output", Self.url(server, table: "cards", key: nil), "--checkpoint", folder.path("c.sqlite"), "--rejects", folder.path("r.csv"),
             "--commit-every", "2000", "--map", "card_number=card_number", "--map", "card_cvv=card_cvv"],
            environment: server.environment)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(try server.psql("SELECT count(bfid) FROM cards") == "\(rows)\n")
        // (The job's backends have ended: their statistics are in.)
        // (The job's checks may start a scan or two that read no row; fifteen commits would make fifteen.)
        let scans = try Int(server.psql("SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'cards'").dropLast()) ?? -1
        let before = Int(scansBefore.dropLast()) ?? -1
        #expect(scans >= before && scans - before <= 2, "sequential scans of the table during the job: \(scans - before)")
    }

    @Test func tableOutputsThatCannotBeWrittenAreRefused() throws {
        let server = try PostgresServer()
        defer { server.stop() }
        try TableInputTests.createCards(server, rows: 10)
        let folder = try TestFolder()
        defer { folder.remove() }
        let simulator = try SimulatorProcess()
        defer { _ = simulator.stop() }
        let base = ["run", "--endpoint", simulator.url, "--template-ref", TestRuns.template, "--checkpoint", folder.path("c.sqlite"), "--rejects", folder.path("r.csv"),
                    "--map", "card_number=card_number"]
        try Data("id,card_number\n1,x\n".utf8).write(to: URL(fileURLWithPath: folder.path("in.csv")))
        try server.psql("ALTER TABLE cards ADD COLUMN digits bigint")
        let cases: [([String], String)] = [
            (["--input", Self.url(server, table: "cards"), "--output", Self.url(server, table: "cards", key: nil)], "ADD COLUMN \"bfid\" text"),
            (["--input", Self.url(server, table: "cards"), "--output", Self.url(server, table: "other", key: nil), "--map", "digits=card_cvv"], "is bigint: a token is text"),
            (["--input", folder.path("in.csv"), "--output", Self.url(server, table: "cards", key: nil)], "written from a table input"),
        ]
        let before = try server.psql("SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM cards t")
        for (arguments, message) in cases {
            let outcome = try TestRuns.run(base + arguments, environment: server.environment)
            #expect(outcome.status != 0 && outcome.stderr.contains(message), "\(message): \(outcome.stderr)")
        }
        #expect(try server.psql("SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM cards t") == before, "the table is untouched")
    }

    /// The nightly form: a finished in-place job run again with `--since-last-run` reads only the
    /// rows after its last key, says how many were done and how many are new, and counts the rows
    /// that took keys below it meanwhile (never read: left as they are).
    @Test func aNightlyRunSendsOnlyTheNewRows() throws {
        let server = try PostgresServer()
        defer { server.stop() }
        try TableInputTests.createCards(server, rows: 1_000)
        try server.psql("ALTER TABLE cards ADD COLUMN bfid text")
        let folder = try TestFolder()
        defer { folder.remove() }
        let simulator = try SimulatorProcess(["--deterministic-ids"])
        defer { _ = simulator.stop() }
        let arguments = [
            "run", "--endpoint", simulator.url, "--template-ref", TestRuns.template, "--input", Self.url(server, table: "cards"),
            "--output", Self.url(server, table: "cards", key: nil), "--checkpoint", folder.path("c.sqlite"), "--rejects", folder.path("r.csv"),
            "--map", "card_number=card_number", "--map", "card_cvv=card_cvv",
        ]
        let first = try TestRuns.run(arguments, environment: server.environment)
        #expect(first.status == 0, "\(first.stderr)")
        let done = try Self.contents(server, table: "cards")
        // New rows after the last key (ids 10010...15000), and three below it.
        let pan = TestCards.pan(999_001)
        try server.psql(
            """
            INSERT INTO cards SELECT g * 10, '\(pan)', '0130', '123', NULL, NULL FROM generate_series(1001, 1500) g;
            INSERT INTO cards VALUES (15, '\(pan)', '0130', '123', NULL, NULL), (25, '\(pan)', '0130', '123', NULL, NULL),
              (35, '\(pan)', '0130', '123', NULL, NULL);
            """)
        // Without the flag: the job is complete, nothing is sent.
        let again = try TestRuns.run(arguments, environment: server.environment)
        let untouched = try server.psql("SELECT count(*) FROM cards WHERE bfid IS NULL")
        #expect(again.status == 0 && untouched == "503\n", "\(again.stderr)")
        let nightly = try TestRuns.run(arguments + ["--since-last-run"], environment: server.environment)
        #expect(nightly.status == 0, "\(nightly.stderr)")
        #expect(nightly.stderr.contains("since the last run: rows already done 1000 (through key 10000), rows new 500"), "\(nightly.stderr)")
        #expect(nightly.stderr.contains("since it was passed (at least): 3;"), "\(nightly.stderr)")
        #expect(try server.psql("SELECT count(*) FROM cards WHERE bfid IS NULL") == "3\n", "only the three rows below the key are left")
        #expect(try server.psql("SELECT count(*) FROM cards WHERE id > 10000 AND card_number = '\(pan)'") == "0\n")
        let oldRows = try Self.contents(server, table: "(SELECT * FROM cards WHERE id <= 10000 AND id % 10 = 0) c")
        #expect(oldRows == done, "the rows of the first run are as it left them")
        // And the next night, with nothing new: nothing sent.
        let quiet = try TestRuns.run(arguments + ["--since-last-run"], environment: server.environment)
        #expect(quiet.status == 0 && quiet.stderr.contains("rows new 0"), "\(quiet.stderr)")
    }

    /// A job resumed over a table altered since it began (a column retyped) is refused, nothing sent.
    @Test func aTableAlteredBetweenRunsIsRefused() throws {
        let server = try PostgresServer()
        defer { server.stop() }
        try TableInputTests.createCards(server, rows: 30_000)
        try server.psql("ALTER TABLE cards ADD COLUMN bfid text")
        let folder = try TestFolder()
        defer { folder.remove() }
        let simulator = try SimulatorProcess(["--latency-ms", "1"])
        defer { _ = simulator.stop() }
        let checkpoint = folder.path("c.sqlite")
        let arguments = [
            "run", "--endpoint", simulator.url, "--template-ref", TestRuns.template, "--input", Self.url(server, table: "cards"),
            "--output", Self.url(server, table: "cards", key: nil), "--checkpoint", checkpoint, "--rejects", folder.path("r.csv"),
            "--map", "card_number=card_number", "--commit-every", "2000",
        ]
        let (process, _) = try TestRuns.start(arguments, environment: server.environment)
        TestRuns.waitForCommit(checkpoint, atLeast: 2_000, while: process)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try server.psql("ALTER TABLE cards ALTER COLUMN card_exp TYPE varchar(8)")
        let before = try server.psql("SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM cards t")
        let resumed = try TestRuns.run(arguments, environment: server.environment)
        #expect(resumed.status != 0 && resumed.stderr.contains("was altered since this job began"), "\(resumed.stderr)")
        #expect(resumed.stderr.contains("card_exp text") && resumed.stderr.contains("card_exp character varying(8)"), "\(resumed.stderr)")
        #expect(try server.psql("SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM cards t") == before, "the table is untouched")
    }
}

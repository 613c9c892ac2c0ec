import Checkpoint
import Foundation
import Testing
import TestSupport

/// A PostgreSQL table as a job's input, on a server the tests start (`initdb`, `pg_ctl`): rows
/// read by keyset pagination in key order, mapped by column name as NDJSON records are; a kill
/// and a resume read on after the committed key; keys that are not unique or may be null, a
/// password in the URL, a table that is not there: refused with the fix named, nothing sent.
@Suite(.serialized) struct TableInputTests {
    /// `rows` card rows (id 10, 20, ...: keys with gaps) in `cards`, with a jsonb column.
    static func createCards(_ server: PostgresServer, rows: Int) throws {
        try server.psql(
            """
            CREATE TABLE cards (id bigint PRIMARY KEY, card_number text, card_exp text, card_cvv text, holder jsonb);
            INSERT INTO cards SELECT g * 10, '', lpad((g % 12 + 1)::text, 2, '0') || '29', lpad((100 + g % 900)::text, 3, '0'),
              jsonb_build_object('name', 'holder ' || g) FROM generate_series(1, \(rows)) g;
            """)
        // Luhn-valid test card numbers, made here (never from a real range) and copied in.
        var copy = ""
        for index in 1...rows { copy += "\(index * 10)\t\(TestCards.pan(index))\n" }
        let file = server.folder + "/pans.tsv"
        try Data(copy.utf8).write(to: URL(fileURLWithPath: file))
        // (psql takes a \copy as a command line of its own, in a session of its own.)
        try server.psql("CREATE TABLE pans (id bigint, pan text)")
        try server.psql("\\copy pans FROM '\(file)'")
        try server.psql("UPDATE cards SET card_number = pans.pan FROM pans WHERE pans.id = cards.id; DROP TABLE pans")
    }

    static func tableURL(_ server: PostgresServer, table: String = "cards", key: String = "id") -> String {
        server.url(query: "table=\(table)&key=\(key)")
    }

    @Test func aTableIsReadInKeyOrderAsItsNDJSONExportIs() throws {
        let server = try PostgresServer()
        defer { server.stop() }
        try Self.createCards(server, rows: 3_000)
        // A row with no card data (NULLs): passed through, counted.
        try server.psql("UPDATE cards SET card_number = NULL, card_exp = NULL, card_cvv = NULL WHERE id = 20")
        let folder = try TestFolder()
        defer { folder.remove() }
        let simulator = try SimulatorProcess(["--deterministic-ids"])
        defer { _ = simulator.stop() }
        // The same rows as a file, by psql: what a table input must read as.
        let export = try server.psql("SELECT row_to_json(t) FROM cards t ORDER BY id")
        try Data(export.utf8).write(to: URL(fileURLWithPath: folder.path("cards.ndjson")))
        let skippingEmpty = TestRuns.tokenize(folder.path("cards.ndjson"), simulator.url, folder.path("file.ndjson")).map {
            $0.hasPrefix("card_") ? $0 + ":skip-empty" : $0
        }
        let fromFile = try TestRuns.run(skippingEmpty)
        #expect(fromFile.status == 0, "\(fromFile.stderr)")
        let fromTable = try TestRuns.run(TestRuns.tokenize(Self.tableURL(server), simulator.url, folder.path("table.ndjson")), environment: server.environment)
        #expect(fromTable.status == 0, "\(fromTable.stderr)")
        #expect(fromTable.stderr.contains("the books balance: read 3000 = done 2999 + passed through 1"), "\(fromTable.stderr)")
        // Another input is another job (other references, other bfids): compared without them.
        let withoutBfid = { (path: String) throws -> [String] in
            try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { $0.replacingOccurrences(of: #","bfid":"[^"]*""#, with: "", options: .regularExpression) }
        }
        let tableLines = try withoutBfid(folder.path("table.ndjson"))
        #expect(tableLines.count == 3_000)
        #expect(tableLines == (try withoutBfid(folder.path("file.ndjson"))), "the table's output is its export's, line for line")
        // Tokens, not card numbers.
        let output = try String(contentsOfFile: folder.path("table.ndjson"), encoding: .utf8)
        #expect(!output.contains(TestCards.pan(1)) && !output.contains(TestCards.pan(3_000)))
        // The password never reaches the output, the checkpoint or the summary.
        #expect(!fromTable.stderr.contains(PostgresServer.password))
    }

    /// The reader's connection ended by the server (an administrator's `pg_terminate_backend`,
    /// twice) while the next page's query may be out: opened again, the page read again from the
    /// same key; every row once, as a run left alone reads them.
    @Test func aReaderWhoseConnectionIsEndedReadsOnFromTheSameKey() throws {
        let server = try PostgresServer()
        defer { server.stop() }
        try Self.createCards(server, rows: 40_000)
        let folder = try TestFolder()
        defer { folder.remove() }
        let simulator = try SimulatorProcess(["--deterministic-ids"])
        defer { _ = simulator.stop() }
        func arguments(_ name: String) -> [String] {
            TestRuns.tokenize(Self.tableURL(server), simulator.url, folder.path("\(name).ndjson")) + ["--rate", "8000", "--commit-every", "1000"]
        }
        let (process, stderr) = try TestRuns.start(arguments("ended"), environment: server.environment)
        let checkpoint = CheckpointStore.defaultPath(forOutput: folder.path("ended.ndjson"))
        var ended = 0
        for seq in [6_000, 18_000] {
            TestRuns.waitForCommit(checkpoint, atLeast: seq, while: process)
            ended += Int(try server.psql(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'batch-tokenize'").dropLast()) ?? 0
        }
        process.waitUntilExit()
        let log = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(log)")
        #expect(ended == 2, "the reader's connection was ended twice while the job ran")
        #expect(log.contains("the database connection was lost while reading; connecting again"), "\(log)")
        let alone = try TestRuns.run(arguments("alone"), environment: server.environment)
        #expect(alone.status == 0, "\(alone.stderr)")
        let withoutBfid = { (path: String) throws -> [String] in
            try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { $0.replacingOccurrences(of: #","bfid":"[^"]*""#, with: "", options: .regularExpression) }
        }
        let lines = try withoutBfid(folder.path("ended.ndjson"))
        #expect(lines.count == 40_000)
        #expect(lines == (try withoutBfid(folder.path("alone.ndjson"))), "every row once, in key order")
    }

    @Test func aKilledTableJobResumesAfterTheCommittedKey() throws {
        let server = try PostgresServer()
        defer { server.stop() }
        try Self.createCards(server, rows: 40_000)
        let folder = try TestFolder()
        defer { folder.remove() }
        let simulator = try SimulatorProcess(["--deterministic-ids", "--latency-ms", "1"])
        defer { _ = simulator.stop() }
        let url = Self.tableURL(server)
        let whole = try TestRuns.run(TestRuns.tokenize(url, simulator.url, folder.path("whole.ndjson")), environment: server.environment)
        #expect(whole.status == 0, "\(whole.stderr)")
        let output = folder.path("out.ndjson")
        let checkpoint = CheckpointStore.defaultPath(forOutput: output)
        var kills = 0
        var lastCommitted = -1
        while kills < 3 {
            let (process, _) = try TestRuns.start(TestRuns.tokenize(url, simulator.url, output), environment: server.environment)
            TestRuns.waitForCommit(checkpoint, atLeast: lastCommitted + 5_000 + Int.random(in: 0...3_000), while: process)
            let running = process.isRunning
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            guard running else { break }
            kills += 1
            let point = try #require(try CheckpointStore.summary(path: checkpoint).commitPoint)
            #expect(point.seq > lastCommitted)
            lastCommitted = point.seq
        }
        #expect(kills >= 2, "the run was killed \(kills) times")
        let last = try TestRuns.run(TestRuns.tokenize(url, simulator.url, output), environment: server.environment)
        #expect(last.status == 0, "\(last.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: output)) == Data(contentsOf: URL(fileURLWithPath: folder.path("whole.ndjson"))),
            "the killed and resumed output is the uninterrupted run's, byte for byte")
    }

    @Test func keysThatCannotPageAreRefusedBeforeAnythingIsSent() throws {
        let server = try PostgresServer()
        defer { server.stop() }
        try Self.createCards(server, rows: 10)
        try server.psql(
            """
            ALTER TABLE cards ADD COLUMN loose bigint, ADD COLUMN nullable bigint;
            UPDATE cards SET loose = id % 3, nullable = id;
            CREATE UNIQUE INDEX ON cards (nullable);
            CREATE VIEW doubled AS SELECT * FROM cards UNION ALL SELECT * FROM cards;
            CREATE VIEW single AS SELECT * FROM cards;
            CREATE VIEW typed AS SELECT id, card_number::bigint AS card_number, card_exp, card_cvv FROM cards;
            CREATE VIEW narrow AS SELECT id, card_number, card_exp FROM cards;
            """)
        let folder = try TestFolder()
        defer { folder.remove() }
        let simulator = try SimulatorProcess()
        defer { _ = simulator.stop() }
        let cases: [(url: String, environment: [String: String], message: String)] = [
            (Self.tableURL(server, key: "loose"), server.environment, "is not unique by an index"),
            (Self.tableURL(server, key: "nullable"), server.environment, "SET NOT NULL"),
            (Self.tableURL(server, key: "nothere"), server.environment, "has no column nothere"),
            (Self.tableURL(server, table: "missing"), server.environment, "the table missing is not in"),
            (Self.tableURL(server, table: "doubled"), server.environment, "is not unique"),
            (server.url(query: "table=cards"), server.environment, "name the table's key column"),
            (Self.tableURL(server, key: "card_number"), server.environment, "is mapped (tokenized)"),
            // A mapped column of the wrong type, or not there: refused before a row is read.
            (Self.tableURL(server, table: "typed"), server.environment, "the mapped column card_number of typed is bigint: card data is text"),
            (Self.tableURL(server, table: "narrow"), server.environment, "the mapping names card_cvv, which narrow has no column of"),
            (
                "postgres://\(PostgresServer.user):\(PostgresServer.password)@127.0.0.1:\(server.port)/postgres?table=cards&key=id", [:],
                "holds a password"
            ),
            (Self.tableURL(server), ["PGPASSWORD": "wrong-password"], "cannot connect to the database"),
        ]
        for (index, item) in cases.enumerated() {
            let output = folder.path("out\(index).ndjson")
            let outcome = try TestRuns.run(TestRuns.tokenize(item.url, simulator.url, output), environment: item.environment)
            #expect(outcome.status != 0 && outcome.stderr.contains(item.message), "\(item.message): \(outcome.stderr)")
            #expect(!outcome.stderr.contains(PostgresServer.password), "the password is never printed")
        }
        // Exit statuses of their own: a refused role 4, a database that cannot be reached 5, the rest 64.
        let refused = try TestRuns.run(TestRuns.tokenize(Self.tableURL(server), simulator.url, folder.path("r.ndjson")), environment: ["PGPASSWORD": "wrong-password"])
        #expect(refused.status == 4 && refused.stderr.contains("check the role and its password"), "\(refused.stderr)")
        let nowhere = "postgres://\(PostgresServer.user)@127.0.0.1:\(try PostgresServer.freePort())/postgres?table=cards&key=id"
        let unreachable = try TestRuns.run(TestRuns.tokenize(nowhere, simulator.url, folder.path("u.ndjson")), environment: server.environment)
        #expect(unreachable.status == 5 && unreachable.stderr.contains("once the database can be reached"), "\(unreachable.stderr)")
        let missing = try TestRuns.run(TestRuns.tokenize(Self.tableURL(server, table: "missing"), simulator.url, folder.path("m.ndjson")), environment: server.environment)
        #expect(missing.status == 64, "\(missing.stderr)")
        // A view whose key is unique reads.
        let view = try TestRuns.run(TestRuns.tokenize(Self.tableURL(server, table: "single"), simulator.url, folder.path("view.ndjson")), environment: server.environment)
        #expect(view.status == 0, "\(view.stderr)")
        let counters = simulator.stop()
        // Only the view's job reached the service (its checks and its ten records).
        #expect(SimulatorProcess.counter("tokenize", in: counters) <= 20, "\(counters)")
    }

    /// `sslmode=verify-full` with the CA file (`sslrootcert`) reads over TLS; another CA, or a
    /// host name the certificate does not hold, is refused before a record is sent.
    @Test func verifyFullWithACAFileReadsAndAnotherCAIsRefused() throws {
        let server = try PostgresServer(tls: true)
        defer { server.stop() }
        try Self.createCards(server, rows: 100)
        let folder = try TestFolder()
        defer { folder.remove() }
        let simulator = try SimulatorProcess()
        defer { _ = simulator.stop() }
        // Another CA of its own, which signed nothing the server has.
        try PostgresServer.makeCertificates(in: folder.path)
        let url = { (host: String, mode: String, ca: String) in
            "postgres://\(PostgresServer.user)@\(host):\(server.port)/postgres?table=cards&key=id&sslmode=\(mode)&sslrootcert=\(ca)"
        }
        func run(_ url: String, _ name: String) throws -> BinaryLauncher.Outcome {
            try TestRuns.run(TestRuns.tokenize(url, simulator.url, folder.path(name)), environment: server.environment)
        }
        let verified = try run(url("localhost", "verify-full", server.caFile), "v.ndjson")
        #expect(verified.status == 0 && verified.stderr.contains("read 100"), "\(verified.stderr)")
        // Another CA: the chain does not verify.
        let wrongCA = try run(url("localhost", "verify-full", folder.path("ca.pem")), "w.ndjson")
        #expect(wrongCA.status == 5 && wrongCA.stderr.contains("cannot connect to the database"), "\(wrongCA.stderr)")
        // The certificate names localhost, not 127.0.0.1: verify-full refuses the address, verify-ca (no name check) takes it.
        let wrongName = try run(url("127.0.0.1", "verify-full", server.caFile), "n.ndjson")
        #expect(wrongName.status == 5 && wrongName.stderr.contains("cannot connect to the database"), "\(wrongName.stderr)")
        let chainOnly = try run(url("127.0.0.1", "verify-ca", server.caFile), "c.ndjson")
        #expect(chainOnly.status == 0, "\(chainOnly.stderr)")
    }
}

import Foundation
import Testing
import TestSupport

/// Detokenize and read table to table: a detokenize writes plaintext only into a new table that
/// no role but its owner may read (default privileges granting another role are taken back), and
/// never over the tokens; a read job fills an `--omit --store` job's table with its tokens in place.
@Suite(.serialized) struct TableDetokenizeTests {
    @Test func aDetokenizeIntoATableLeavesItToItsOwnerAndNeverWritesOverTheTokens() throws {
        let server = try PostgresServer()
        defer { server.stop() }
        let rows = 2_000
        try TableInputTests.createCards(server, rows: rows)
        try server.psql("ALTER TABLE cards ADD COLUMN bfid text")
        let folder = try TestFolder()
        defer { folder.remove() }
        let simulator = try SimulatorProcess(["--deterministic-ids"])
        defer { _ = simulator.stop() }
        let job = ["--endpoint", simulator.url, "--template-ref", TestRuns.template, "--input", TableOutputTests.url(server, table: "cards")]
            + TestRuns.mapping
        let files = { (name: String) in ["--checkpoint", folder.path("\(name).sqlite"), "--rejects", folder.path("\(name).rejects.csv")] }
        let tokenized = try TestRuns.run(["run", "--output", TableOutputTests.url(server, table: "cards", key: nil)] + job + files("t"), environment: server.environment)
        #expect(tokenized.status == 0, "\(tokenized.stderr)")
        let tokens = try server.psql("SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM cards t")

        // Another role would read every new table of this one's: default privileges.
        try server.psql("CREATE ROLE auditor; ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO auditor, PUBLIC")
        let plain = try TestRuns.run(
            ["detokenize", "--output", TableOutputTests.url(server, table: "cards_plain", key: nil)] + job + files("d"), environment: server.environment)
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(plain.stderr.contains("will hold cardholder data in plaintext (no privileges for any role but its owner)"), "\(plain.stderr)")
        #expect(plain.stderr.contains("the books balance: read \(rows) = done \(rows)"), "\(plain.stderr)")
        let numbers = try server.psql("SELECT id, card_number FROM cards_plain ORDER BY id").split(separator: "\n").map(String.init)
        #expect(numbers == (1...rows).map { "\($0 * 10)|\(TestCards.pan($0))" }, "every token back to its card number")
        #expect(
            try server.psql("SELECT has_table_privilege('auditor', 'cards_plain', 'SELECT'), has_table_privilege('public', 'cards_plain', 'SELECT')") == "f|f\n",
            "no role but the owner may read the plaintext")
        #expect(try server.psql("SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM cards t") == tokens, "the tokenized table is untouched")

        // Over the tokens: refused, nothing sent, the table untouched.
        let over = try TestRuns.run(
            ["detokenize", "--output", TableOutputTests.url(server, table: "cards", key: nil)] + job + files("o"), environment: server.environment)
        #expect(over.status == 64 && over.stderr.contains("never over the tokens"), "\(over.stderr)")
        #expect(try server.psql("SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM cards t") == tokens)
    }

    @Test func aReadJobFillsAnOmittedTableWithItsTokensInPlace() throws {
        let server = try PostgresServer()
        defer { server.stop() }
        let rows = 1_000
        try TableInputTests.createCards(server, rows: rows)
        try server.psql("CREATE TABLE tokenized (LIKE cards INCLUDING ALL); INSERT INTO tokenized SELECT * FROM cards; ALTER TABLE tokenized ADD COLUMN bfid text")
        let folder = try TestFolder()
        defer { folder.remove() }
        let simulator = try SimulatorProcess(["--deterministic-ids"])
        defer { _ = simulator.stop() }
        let job = ["--endpoint", simulator.url, "--template-ref", TestRuns.template, "--map", "card_number=card_number"]
        let files = { (name: String) in ["--checkpoint", folder.path("\(name).sqlite"), "--rejects", folder.path("\(name).rejects.csv")] }
        // Tokens stored, not written: a new table of keys, bfids and empty card numbers.
        let omitted = try TestRuns.run(
            ["run", "--omit", "--store", "--input", TableOutputTests.url(server, table: "cards"), "--output", TableOutputTests.url(server, table: "omitted", key: nil)]
                + job + files("omit"), environment: server.environment)
        #expect(omitted.status == 0, "\(omitted.stderr)")
        #expect(try server.psql("SELECT count(*), count(bfid), count(*) FILTER (WHERE coalesce(card_number, '') = '') FROM omitted") == "\(rows)|\(rows)|\(rows)\n")
        // Read back into the same table, in place.
        let read = try TestRuns.run(
            ["read", "--input", TableOutputTests.url(server, table: "omitted"), "--output", TableOutputTests.url(server, table: "omitted", key: nil)]
                + job + files("read"), environment: server.environment)
        #expect(read.status == 0, "\(read.stderr)")
        // The same tokens a tokenize job writes for the same card numbers.
        let whole = try TestRuns.run(
            ["run", "--input", TableOutputTests.url(server, table: "tokenized"), "--output", TableOutputTests.url(server, table: "tokenized", key: nil)]
                + job + files("whole"), environment: server.environment)
        #expect(whole.status == 0, "\(whole.stderr)")
        #expect(
            try server.psql("SELECT count(*) FILTER (WHERE o.card_number = t.card_number AND o.card_number <> c.card_number) FROM omitted o JOIN tokenized t USING (id) JOIN cards c USING (id)")
                == "\(rows)\n", "every row holds its card number's token")
    }
}

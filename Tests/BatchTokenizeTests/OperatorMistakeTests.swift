import Foundation
import Testing
import TestSupport

/// The second audit's findings that a careless operator or a dirty file produces: a headerless
/// CSV, a column or key named twice, a mapped bfid key, a detokenize that cannot know which regex
/// matches were tokens, a verify that checked nothing, a service that refuses everything, a
/// finished job whose output was deleted, a dry run that wrote a file.
@Suite(.serialized) struct OperatorMistakeTests {
    static let template = "438ac8afecdd8035a21c126ee1fe6c19"

    static func command(_ name: String, _ arguments: [String], url: String) throws -> BinaryLauncher.Outcome {
        try BinaryLauncher.run([name, "--endpoint", url, "--template-ref", template] + arguments, environment: ["SCX_API_KEY": TestKeys.simulator])
    }

    static func write(_ text: String, to path: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    /// Item 9: a headerless CSV whose first row holds a cardholder name: the message shows
    /// positions only, never the name or the card number, and says the row looks like data.
    @Test func aHeaderlessCSVsFirstRowIsNeverEchoed() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let input = folder.path("cards.csv")
        try Self.write("1,\(TestCards.pan(1)),1227,737,Jane Doe\n2,\(TestCards.pan(2)),1228,738,John Roe\n", to: input)
        let outcome = try Self.command("run", ["--input", input, "--output", folder.path("out.csv"), "--map", "card_number=card_number"], url: "local")
        #expect(outcome.status == 64, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("columns: #1, #2, #3, #4, #5") && outcome.stderr.contains("looks like data"), "\(outcome.stderr)")
        #expect(!outcome.stderr.contains("Jane") && !outcome.stderr.contains(TestCards.pan(1)))
        let dry = try BinaryLauncher.run(["run", "--input", input, "--map", "card_number=card_number", "--dry-run"])
        #expect(dry.status == 64 && !dry.stderr.contains("Jane"), "\(dry.stderr)")
        #expect(outcome.stderr.contains("--no-header") && outcome.stderr.contains("'#2=card_number'"), "the way out is offered: \(outcome.stderr)")

        // The way out: --no-header and columns by position. Every row is a record (the first
        // too), the output has no header row, and detokenize (the bfid in column #6) gives the
        // rows back.
        let simulator = try SimulatorProcess(["--deterministic-ids"])
        defer { _ = simulator.stop() }
        let output = folder.path("out.csv")
        let mapping = ["--no-header", "--map", "#2=card_number", "--map", "#4=card_cvv"]
        let tokenized = try Self.command("run", ["--input", input, "--output", output] + mapping, url: simulator.url)
        #expect(tokenized.status == 0 && tokenized.stderr.contains("done: 2"), "\(tokenized.stderr)")
        let rows = try CSVFiles.read(output)
        #expect(rows.header.count == 6 && rows.header[0] == "1" && rows.rows.count == 1, "the first line is a record: \(rows)")
        #expect(rows.header[1] != TestCards.pan(1) && rows.header[4] == "Jane Doe" && !rows.header[5].isEmpty)
        let plain = folder.path("plain.csv")
        let back = try Self.command(
            "detokenize", ["--input", output, "--output", plain, "--bfid-column", "#6"] + mapping, url: simulator.url
        )
        #expect(back.status == 0, "\(back.stderr)")
        let restored = try String(contentsOfFile: plain, encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",").prefix(5).joined(separator: ",") }
        #expect(restored == ["1,\(TestCards.pan(1)),1227,737,Jane Doe", "2,\(TestCards.pan(2)),1228,738,John Roe"])
    }

    /// An empty CSV file (no header row) is the operator's mistake, found before anything is
    /// sent: a configuration error (64) that names the file and leaves no checkpoint behind, so
    /// that the corrected command is not "another job". (It was a failure that said "what was
    /// finished is committed" and kept a checkpoint: the reader's error crossed the boundary
    /// untranslated.)
    @Test func anEmptyCSVInputIsAConfigurationError() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let input = folder.path("empty.csv")
        try Self.write("", to: input)
        let output = folder.path("out.csv")
        let outcome = try Self.command("run", ["--input", input, "--output", output, "--map", "card_number=card_number"], url: "local")
        #expect(outcome.status == 64 && outcome.stderr.contains("no header row"), "\(outcome.stderr)")
        #expect(!outcome.stderr.contains("what was finished is committed"), "\(outcome.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output + ".checkpoint.sqlite"))
    }

    /// Item 10: a mapped column named twice is refused; an NDJSON record with a mapped key twice
    /// is a reject, and neither card number reaches the output.
    @Test func aMappedNameThatOccursTwiceIsRefused() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let csv = folder.path("cards.csv")
        try Self.write("id,card_number,card_number\n1,\(TestCards.pan(1)),\(TestCards.pan(2))\n", to: csv)
        let simulator = try SimulatorProcess(["--deterministic-ids"])
        defer { _ = simulator.stop() }
        let refused = try Self.command("run", ["--input", csv, "--output", folder.path("out.csv"), "--map", "card_number=card_number"], url: simulator.url)
        #expect(refused.status == 64 && refused.stderr.contains("2 columns named 'card_number'"), "\(refused.stderr)")

        let ndjson = folder.path("cards.ndjson")
        try Self.write(
            "{\"id\":1,\"card_number\":\"\(TestCards.pan(1))\",\"card_number\":\"\(TestCards.pan(2))\"}\n{\"id\":2,\"card_number\":\"\(TestCards.pan(3))\"}\n",
            to: ndjson
        )
        let output = folder.path("out.ndjson")
        let ran = try Self.command("run", ["--input", ndjson, "--output", output, "--map", "card_number=card_number"], url: simulator.url)
        #expect(ran.status == 2, "\(ran.stderr)")
        #expect(ran.stderr.contains("duplicate-key") && ran.stderr.contains("done: 1"), "\(ran.stderr)")
        let written = try String(contentsOfFile: output, encoding: .utf8)
        #expect(written.split(separator: "\n").count == 1)
        for index in 1...3 { #expect(!written.contains(TestCards.pan(index))) }
    }

    /// Item 15: an NDJSON bfid key that the mapping reads (tokenize), or a detokenize bfid column
    /// that is mapped: refused at configuration, before anything is sent (it used to trap after).
    @Test func aMappedBfidKeyIsRefused() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let ndjson = folder.path("cards.ndjson")
        try Self.write("{\"id\":1,\"bfid\":\"\(TestCards.pan(1))\",\"num\":\"\(TestCards.pan(2))\"}\n", to: ndjson)
        let simulator = try SimulatorProcess()
        defer { _ = simulator.stop() }
        let tokenize = try Self.command("run", ["--input", ndjson, "--output", folder.path("a.ndjson"), "--map", "bfid=card_number"], url: simulator.url)
        #expect(tokenize.status == 64 && tokenize.stderr.contains("bfid column 'bfid' is read by the mapping"), "\(tokenize.stderr)")
        let detokenize = try Self.command(
            "detokenize", ["--input", ndjson, "--output", folder.path("b.ndjson"), "--bfid-column", "num", "--map", "num=card_number"], url: simulator.url
        )
        #expect(detokenize.status == 64 && detokenize.stderr.contains("bfid column 'num' is read by the mapping"), "\(detokenize.stderr)")
        let counters = simulator.stop()
        #expect(!counters.contains("tokenize:") && !counters.contains("detokenize:"), "nothing was sent: \(counters)")
    }

    /// Item 13: a regex mapping with luhnCheck: tokenize leaves the non-Luhn number alone and
    /// records where its tokens went; detokenize takes exactly those (the non-Luhn number is never
    /// sent), giving back the input byte for byte; verify checks it. A tokenized file without the
    /// spans (an earlier version's) is refused, not guessed at.
    @Test(arguments: ["csv", "ndjson"])
    func detokenizeTakesExactlyWhatTokenizeTokenized(format: String) throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let input = folder.path("notes.\(format)")
        let notes = [
            "order 1234567890123 card \(TestCards.pan(4))", "\(TestCards.pan(5)) then 9876543210986 then \(TestCards.pan(6))", "nothing here",
            "only 1111222233334444 and 55556666777788889",
        ]
        if format == "csv" {
            try Self.write("id,notes\n" + notes.enumerated().map { "\($0.offset),\($0.element)\n" }.joined(), to: input)
        } else {
            try Self.write(notes.enumerated().map { "{\"id\":\($0.offset),\"notes\":\"\($0.element)\"}\n" }.joined(), to: input)
        }
        let job = folder.path("job.json")
        try Self.write(
            """
            {"templateRef": "\(Self.template)", "instructions": [{"transformationType": "regex", "transformationPath": "\\\\d{13,19}",
              "source": "notes", "fieldName": "card_number", "luhnCheck": true}]}
            """, to: job
        )
        let simulator = try SimulatorProcess(["--deterministic-ids"])
        defer { _ = simulator.stop() }
        let tokenized = folder.path("tokens.\(format)")
        let tokenize = try Self.command("run", ["--config", job, "--input", input, "--output", tokenized], url: simulator.url)
        #expect(tokenize.status == 0, "\(tokenize.stderr)")
        let tokenizedText = try String(contentsOfFile: tokenized, encoding: .utf8)
        #expect(tokenizedText.contains("order 1234567890123 card ") && tokenizedText.contains("9876543210986"))
        #expect(tokenizedText.contains("bfid_spans") && !tokenizedText.contains(TestCards.pan(4)))
        let plain = folder.path("plain.\(format)")
        let detokenize = try Self.command("detokenize", ["--config", job, "--input", tokenized, "--output", plain], url: simulator.url)
        #expect(detokenize.status == 0, "\(detokenize.stderr)")
        let back = try String(contentsOfFile: plain, encoding: .utf8)
        for note in notes { #expect(back.contains(note), "\(note) is given back as it was: \(back)") }
        let verify = try Self.command("verify", ["--config", job, "--input", input, "--output", tokenized], url: simulator.url)
        #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")
        #expect(verify.stdout.contains("matched: 3 of 3"), "\(verify.stdout)")

        guard format == "csv" else { return }
        // Without the spans column: refused, nothing written.
        let lines = tokenizedText.split(separator: "\n").map { line in String(line[..<line.lastIndex(of: ",")!]) }
        let stripped = folder.path("stripped.csv")
        try Self.write(lines.joined(separator: "\n") + "\n", to: stripped)
        let refused = try Self.command("detokenize", ["--config", job, "--input", stripped, "--output", folder.path("p2.csv")], url: simulator.url)
        #expect(refused.status == 64 && refused.stderr.contains("no column 'bfid_spans'"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder.path("p2.csv")))
    }

    /// Item 14: verify over an output whose bfids were blanked checks nothing: exit 1, not 0.
    @Test func verifyThatCheckedNothingFails() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let input = folder.path("cards.csv")
        try Self.write(TestCards.csv(rows: 100), to: input)
        let output = folder.path("out.csv")
        let simulator = try SimulatorProcess()
        defer { _ = simulator.stop() }
        let mapping = ["--map", "card_number=card_number", "--map", "card_exp=card_exp"]
        let ran = try Self.command("run", ["--input", input, "--output", output] + mapping, url: simulator.url)
        #expect(ran.status == 0, "\(ran.stderr)")
        let good = try Self.command("verify", ["--input", input, "--output", output, "--sample", "20"] + mapping, url: simulator.url)
        #expect(good.status == 0, "\(good.stdout) \(good.stderr)")
        // Every bfid blanked (the last column).
        let lines = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        let blanked = lines.enumerated().map { index, line in
            index == 0 || line.isEmpty ? String(line) : String(line[...line.lastIndex(of: ",")!])
        }
        try Self.write(blanked.joined(separator: "\n"), to: output)
        let none = try Self.command("verify", ["--input", input, "--output", output, "--sample", "20"] + mapping, url: simulator.url)
        #expect(none.status == 1, "\(none.stdout) \(none.stderr)")
        #expect(none.stdout.contains("sampled: 0") && none.stderr.contains("no record could be checked"), "\(none.stdout) \(none.stderr)")
    }

    /// Item 16: a service that throttles every request (8001) with --retry-for 2 on 3,000 records:
    /// the job stops once nothing succeeded for 2 s, commits, exits 75 and names the refusals
    /// (each record's own budget would have kept it going for hours).
    @Test func retryForBoundsAJobThatNothingSucceeds() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let input = folder.path("cards.csv")
        try CSVFiles.generate(rows: 3_000, to: input)
        // The Python websockets server throttling everything but the handshake and partner-validate.
        let server = try StrictServer(["--rate-limit", "0.001"])
        defer { _ = server.stop() }
        let outcome = try StrictServer.command(
            ["run", "--endpoint", server.url, "--template-ref", Self.template, "--input", input, "--output", folder.path("out.csv"), "--retry-for", "2"]
                + TestRuns.mapping
        )
        #expect(outcome.status == 75, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("no record succeeded for 2 s") && outcome.stderr.contains("8001 ×"), "\(outcome.stderr)")
        let status = try BinaryLauncher.run(["status", "--output", folder.path("out.csv")])
        #expect(status.stdout.contains("complete: no"), "resumable: \(status.stdout)")
    }

    /// Item 17: a finished job whose output was deleted (or cut) is not "already complete":
    /// exit non-zero, say that the output is gone and how to rebuild it; nothing is created.
    @Test func aFinishedJobWhoseOutputIsGoneSaysSo() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let input = ProjectFiles.root + "/samples/cards.csv"
        let output = folder.path("out.csv")
        let simulator = try SimulatorProcess()
        defer { _ = simulator.stop() }
        let arguments = ["--input", input, "--output", output, "--map", "card_number=card_number:digits,luhn,skip-empty"]
        #expect(try Self.command("run", arguments, url: simulator.url).status == 0)
        let again = try Self.command("run", arguments, url: simulator.url)
        #expect(again.status == 0 && again.stderr.contains("already complete"), "\(again.stderr)")
        try FileManager.default.removeItem(atPath: output)
        let gone = try Self.command("run", arguments, url: simulator.url)
        #expect(gone.status == 64, "\(gone.stderr)")
        // (The folder is a random UUID, which the masking may take for digits: the name is enough.)
        #expect(gone.stderr.contains("out.csv is gone") && gone.stderr.contains("--restart"), "\(gone.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output))
        let rebuilt = try Self.command("run", arguments + ["--restart"], url: simulator.url)
        #expect(rebuilt.status == 0, "\(rebuilt.stderr)")
        // Cut by a line: the same.
        let text = try String(contentsOfFile: output, encoding: .utf8)
        try Self.write(String(text.dropLast(20)), to: output)
        let cut = try Self.command("run", arguments, url: simulator.url)
        #expect(cut.status == 64 && cut.stderr.contains("bytes, not the"), "\(cut.stderr)")
    }

    /// Item 18: the README's dry run of the sample job file writes no file into the folder it
    /// is started from (the job file's relative `rejects` path), unless --rejects is given.
    @Test func aDryRunWritesNoFileUnlessTold() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let root = ProjectFiles.root
        let outcome = try BinaryLauncher.run(
            ["run", "--config", root + "/samples/job-cards-csv.json", "--input", root + "/samples/cards.csv", "--dry-run"], directory: folder.path("")
        )
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path("")).isEmpty)
        let told = try BinaryLauncher.run(
            ["run", "--config", root + "/samples/job-cards-csv.json", "--input", root + "/samples/cards.csv", "--dry-run", "--rejects", "r.csv"],
            directory: folder.path("")
        )
        #expect(told.status == 0, "\(told.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path("")) == ["r.csv"])
        // Its --rejects is never the input.
        let input = folder.path("in.csv")
        try Self.write(TestCards.csv(rows: 3), to: input)
        let over = try BinaryLauncher.run(["run", "--input", input, "--map", "card_number=card_number", "--dry-run", "--rejects", input])
        #expect(over.status == 64 && over.stderr.contains("are the same file"), "\(over.stderr)")
        #expect(try String(contentsOfFile: input, encoding: .utf8) == TestCards.csv(rows: 3))
    }
}

import Foundation
import ShieldConex
import Testing
import TestSupport

/// What an operator sees and what a cron job checks: masked messages on every error path, exit
/// codes per outcome, key files, the report and metrics files, progress lines off a terminal.
@Suite(.serialized) struct OperatorExperienceTests {
    static let template = TestRuns.template
    static let root = ProjectFiles.root

    /// Generated Luhn-valid test PANs (on no card).
    static func pan(_ number: Int, prefix: String = "400000") -> String {
        TestCards.pan(number, prefix: prefix)
    }

    static func spaced(_ pan: String) -> String {
        stride(from: 0, to: pan.count, by: 4).map { start in
            let from = pan.index(pan.startIndex, offsetBy: start)
            return String(pan[from..<(pan.index(from, offsetBy: 4, limitedBy: pan.endIndex) ?? pan.endIndex)])
        }.joined(separator: " ")
    }

    static func run(_ arguments: [String], key: String? = TestKeys.simulator) throws -> BinaryLauncher.Outcome {
        try BinaryLauncher.run(arguments, environment: key.map { ["SCX_API_KEY": $0] } ?? [:], directory: root)
    }

    static func write(_ text: String, to path: String, mode: Int = 0o600) throws {
        try CSVFiles.write(text, to: path, mode: mode)
    }

    static func cardsCSV(rows: Int, to path: String) throws {
        try CSVFiles.cards(rows: rows, to: path)
    }

    // MARK: Masking

    @Test func noCardNumberLeaksThroughAnyErrorPath() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        // The folder's name holds a card number, so every path shown anywhere holds one too.
        let leakyFolder = folder.path("in-\(Self.pan(900))")
        try FileManager.default.createDirectory(atPath: leakyFolder, withIntermediateDirectories: true)
        let simulator = try SimulatorProcess(["--echo-values-in-errors"])
        defer { _ = simulator.stop() }

        let good = Self.pan(1)
        let echoed = Self.pan(2)  // goes to a digits field with spaces: the service quotes it back
        let badLuhn = String(Self.pan(3).dropLast()) + String((Int(String(Self.pan(3).last!))! + 1) % 10)
        let idPan = Self.pan(4)  // a card number in the id column of a rejected record
        let shortRow = Self.pan(5)  // in a row with too few fields
        let quoted = Self.pan(6)  // in an unterminated quoted field
        let badJSON = Self.pan(7)  // in an NDJSON line that is not JSON
        let pathPan = Self.pan(900)
        let pans = [good, echoed, badLuhn, idPan, shortRow, quoted, badJSON, pathPan]

        let csv = "\(leakyFolder)/cards.csv"
        try Self.write(
            """
            id,card_number,card_exp,card_cvv
            1,\(good),1228,123
            2,\(good),1228,\(Self.spaced(echoed))
            \(idPan),\(badLuhn),1228,123
            6,\(good),1228,98x7
            4,\(shortRow)
            5,\(good),1228,"\(quoted)

            """, to: csv
        )
        let output = "\(leakyFolder)/out.csv"
        let report = "\(leakyFolder)/report.json"
        let metrics = "\(leakyFolder)/metrics.prom"
        let csvRun = try Self.run([
            "run", "--endpoint", simulator.url, "--template-ref", Self.template, "--input", csv, "--output", output, "--id-column", "id",
            "--map", "card_number=card_number:luhn,digits", "--map", "card_exp=card_exp", "--map", "card_cvv=card_cvv",
            "--report", report, "--metrics-file", metrics, "--log-level", "trace",
        ])
        #expect(csvRun.status == 2, "\(csvRun.stderr)")
        let rejects = try String(contentsOfFile: output + ".rejects.csv", encoding: .utf8)
        #expect(rejects.contains("400000******"), "the echoed value is in the rejects file, masked: \(rejects)")
        #expect(rejects.contains("luhn-check-failed") && rejects.contains("wrong-field-count") && rejects.contains("unterminated-quote"))

        // NDJSON: a line that is not JSON, and a fatal job error (an unknown template named like a card number).
        let ndjson = "\(leakyFolder)/cards.ndjson"
        try Self.write("{\"card\": \"\(good)\"}\n{\"card\": \(badJSON)\"}\n", to: ndjson)
        let ndjsonRun = try Self.run([
            "run", "--endpoint", simulator.url, "--template-ref", Self.template, "--input", ndjson, "--output", "\(leakyFolder)/out.ndjson",
            "--map", "card=card_number", "--log-format", "json", "--report", "\(leakyFolder)/report2.json",
        ])
        #expect(ndjsonRun.status == 2, "\(ndjsonRun.stderr)")
        let refused = try Self.run([
            "run", "--endpoint", simulator.url, "--template-ref", pathPan, "--input", ndjson, "--output", "\(leakyFolder)/refused.ndjson",
            "--map", "card=card_number",
        ])
        #expect(refused.status == 4)
        // Usage errors and an unreachable endpoint whose URL holds a card number.
        let missing = try Self.run(["run", "--endpoint", "local", "--template-ref", Self.template, "--input", "\(leakyFolder)/none.csv", "--output", output])
        #expect(missing.status == 64)
        let unreachable = try Self.run([
            "validate", "--endpoint", "ws://127.0.0.1:1/\(pathPan)", "--template-ref", Self.template,
        ])
        #expect(unreachable.status == 5)

        var shown = [csvRun, ndjsonRun, refused, missing, unreachable].map { $0.stdout + $0.stderr }
        for file in [output + ".rejects.csv", report, metrics, "\(leakyFolder)/out.ndjson.rejects.csv", "\(leakyFolder)/report2.json"] {
            shown.append(try String(contentsOfFile: file, encoding: .utf8))
        }
        // The checkpoint keeps server messages: masked too. (It keeps the input path as it is,
        // to know the job again: a path is configuration, not a record's value.)
        let checkpoint = String(decoding: try Data(contentsOf: URL(fileURLWithPath: output + ".checkpoint.sqlite")), as: UTF8.self)
        for pan in pans where pan != pathPan {
            #expect(!checkpoint.contains(pan), "the checkpoint holds card number \(pans.firstIndex(of: pan)!)")
        }
        #expect(rejects.contains("Invalid value **** for field card_cvv"), "a quoted CVV is masked whole: \(rejects)")
        for (index, text) in shown.enumerated() {
            #expect(!text.contains("98x7"), "text \(index) shows a CVV")
            for pan in pans {
                #expect(!text.contains(pan), "text \(index) shows card number \(pans.firstIndex(of: pan)!)")
                #expect(!text.contains(Self.spaced(pan)), "text \(index) shows a spaced card number")
            }
        }
        #expect(csvRun.stderr.contains("in-400000******"), "paths are shown, masked")
    }

    @Test func theJobFilesLogSettingsChooseThePattern() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let bad = String(Self.pan(11).dropLast()) + String((Int(String(Self.pan(11).last!))! + 1) % 10)
        try Self.write("id,card_number\n\(bad),\(bad)\n", to: folder.path("in.csv"))
        try Self.write(
            """
            {"templateRef": "\(Self.template)", "input": {"path": "\(folder.path("in.csv"))", "idColumn": "id"},
             "instructions": [{"transformationType": "key", "transformationPath": "card_number", "fieldName": "card_number", "luhnCheck": true}],
             "logSettings": {"requestMasks": [{"transformationType": "key", "transformationPath": "card_number", "pattern": "fourPlainFourMasked"}]}}
            """, to: folder.path("job.json")
        )
        let outcome = try Self.run(["run", "--endpoint", "local", "--config", folder.path("job.json"), "--output", folder.path("out.csv")])
        #expect(outcome.status == 2, "\(outcome.stderr)")
        let rejects = try String(contentsOfFile: folder.path("out.csv.rejects.csv"), encoding: .utf8)
        #expect(rejects.contains(MaskingPatternCheck.fourPlainFourMasked(bad)), "\(rejects)")
        #expect(!rejects.contains(bad))
    }

    // MARK: Exit codes

    /// Run's refusals (4), an unreachable service (5) and signals (75) are covered by
    /// JobKindsTests.refusedJobsStopWithTheirExitCodes and the ResilienceTests.
    @Test func everyOutcomeHasItsExitCode() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let simulator = try SimulatorProcess()
        defer { _ = simulator.stop() }
        let good = folder.path("good.csv")
        try Self.cardsCSV(rows: 50, to: good)
        let mapping = ["--template-ref", Self.template, "--map", "card_number=card_number:luhn", "--map", "card_exp=card_exp"]

        let done = try Self.run(["run", "--endpoint", simulator.url, "--input", good, "--output", folder.path("good.out.csv")] + mapping)
        #expect(done.status == 0, "\(done.stderr)")
        let again = try Self.run(["run", "--endpoint", simulator.url, "--input", good, "--output", folder.path("good.out.csv")] + mapping)
        #expect(again.status == 0)
        #expect(again.stderr.contains("already complete"))

        let withRejects = folder.path("rejects.csv")
        try Self.write("id,card_number,card_exp\n1,\(Self.pan(1)),1228\n2,4000001234567890,1228\n", to: withRejects)
        let rejected = try Self.run(["run", "--endpoint", simulator.url, "--input", withRejects, "--output", folder.path("rejects.out.csv")] + mapping)
        #expect(rejected.status == 2)
        #expect(rejected.stderr.contains("finished with rejects (rejected: 1, outcome unknown: 0)"))

        let unknownOption = try Self.run(["run", "--no-such-option"])
        #expect(unknownOption.status == 64)
        try Self.write("{\"input\": 3}", to: folder.path("bad-job.json"))
        let badJob = try Self.run(["run", "--endpoint", "local", "--config", folder.path("bad-job.json"), "--output", folder.path("x.csv")])
        #expect(badJob.status == 64)
        #expect(badJob.stderr.contains("wrong type"))
        let noInput = try Self.run(["run", "--endpoint", "local", "--input", folder.path("none.csv"), "--output", folder.path("x.csv")] + mapping)
        #expect(noInput.status == 64)
        #expect(noInput.stderr.contains("cannot read the input file"))
        let badMapping = try Self.run(
            ["run", "--endpoint", "local", "--input", good, "--output", folder.path("y.csv"), "--template-ref", Self.template, "--map", "nope=card_number"]
        )
        #expect(badMapping.status == 64, "\(badMapping.stderr)")

        let validated = try Self.run(["validate", "--endpoint", simulator.url, "--template-ref", Self.template])
        #expect(validated.status == 0)
        #expect(validated.stdout.contains("credentials: good") && validated.stdout.contains("template \(Self.template): good"))
        let badTemplate = try Self.run(["validate", "--endpoint", simulator.url, "--template-ref", "no-such-template"])
        #expect(badTemplate.status == 4)
        #expect(badTemplate.stdout.contains("template no-such-template: REFUSED"))
        let badKey = try Self.run(["validate", "--endpoint", simulator.url, "--template-ref", Self.template], key: "d3Jvbmc6a2V5")
        #expect(badKey.status == 4)
        #expect(badKey.stdout.contains("credentials: REFUSED"))
        let unreachable = try Self.run(["validate", "--endpoint", "ws://127.0.0.1:1", "--template-ref", Self.template])
        #expect(unreachable.status == 5)

        let version = try Self.run(["--version"])
        #expect(version.status == 0 && version.stdout.hasPrefix("batch-tokenize "))
        for command in ["run", "detokenize", "read", "verify", "validate", "status", "call", "simulate"] {
            let help = try Self.run([command, "--help"])
            #expect(help.status == 0)
            #expect(help.stdout.contains("Example"), "\(command) --help has an example")
        }
        let runHelp = try Self.run(["run", "--help"])
        for code in ["64", "75", "finished, with records in the rejects file"] { #expect(runHelp.stdout.contains(code)) }
    }

    // MARK: Credentials

    @Test func keyFilesOthersCanReadAreRefused() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let simulator = try SimulatorProcess()
        defer { _ = simulator.stop() }
        let validate = ["validate", "--endpoint", simulator.url, "--template-ref", Self.template]

        let open = folder.path("open.key")
        try Self.write(TestKeys.simulator, to: open, mode: 0o644)
        let refused = try Self.run(validate + ["--key-file", open], key: nil)
        #expect(refused.status == 64)
        // (Not the whole path: a UUID in it may hold 12 digits in a row, which every message masks.)
        #expect(refused.stderr.contains("refusing to use it. Fix it with: chmod 600 ") && refused.stderr.contains("open.key"), "\(refused.stderr)")
        #expect(!refused.stderr.contains(TestKeys.simulator))

        let closed = folder.path("closed.key")
        try Self.write(TestKeys.simulator + "\n", to: closed)
        let accepted = try Self.run(validate + ["--key-file", closed], key: nil)
        #expect(accepted.status == 0, "\(accepted.stderr)")

        // The test key is base64("run-test:key"): a partner id and partner key build it.
        let partnerKey = folder.path("partner.key")
        try Self.write("key\n", to: partnerKey)
        let partner = try Self.run(validate + ["--partner-id", "run-test", "--partner-key-file", partnerKey], key: nil)
        #expect(partner.status == 0, "\(partner.stderr)")
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: partnerKey)
        let groupReadable = try Self.run(validate + ["--partner-id", "run-test", "--partner-key-file", partnerKey], key: nil)
        #expect(groupReadable.status == 64)
        #expect(groupReadable.stderr.contains("chmod 600"))
        let half = try Self.run(validate + ["--partner-id", "run-test"], key: nil)
        #expect(half.status == 64)

        let asOption = try Self.run(validate + ["--key", TestKeys.simulator], key: nil)
        #expect(asOption.status == 64, "the key is never an option value")
        let none = try Self.run(validate, key: nil)
        #expect(none.status == 64)
        #expect(none.stderr.contains("SCX_API_KEY"))
    }

    // MARK: Report and metrics

    @Test func theReportAndMetricsFilesParseBack() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let simulator = try SimulatorProcess()
        defer { _ = simulator.stop() }
        let input = folder.path("in.csv")
        var text = "id,card_number,card_exp\n"
        for row in 0..<300 { text += "\(row),\(row % 100 == 7 ? "4000001234567890" : Self.pan(row + 1)),1228\n" }
        try Self.write(text, to: input)
        let report = folder.path("report.json")
        let metrics = folder.path("metrics.prom")
        let outcome = try Self.run([
            "run", "--endpoint", simulator.url, "--template-ref", Self.template, "--input", input, "--output", folder.path("out.csv"),
            "--map", "card_number=card_number:luhn", "--map", "card_exp=card_exp", "--report", report, "--metrics-file", metrics,
        ])
        #expect(outcome.status == 2, "\(outcome.stderr)")

        let reportText = try String(contentsOfFile: report, encoding: .utf8)
        #expect(!reportText.contains(TestKeys.simulator))
        let object = try JSONText.object(reportText)
        #expect(object["outcome"] as? String == "completed-with-rejects")
        #expect(object["exitCode"] as? Int == 2)
        let records = try #require(object["records"] as? [String: Int])
        #expect(records["read"] == 300 && records["done"] == 297 && records["rejected"] == 3)
        #expect((object["rejectedByCode"] as? [String: Int])?["luhn-check-failed"] == 3)
        let reasons = try #require(object["rejectedByReason"] as? [[String: Any]])
        #expect(reasons.first?["count"] as? Int == 3)
        let job = try #require(object["job"] as? [String: Any])
        #expect(job["templateRef"] as? String == Self.template && job["action"] as? String == "tokenize")
        #expect((job["id"] as? String)?.count == 12)
        let latency = try #require(object["latencyMilliseconds"] as? [String: Double])
        #expect(latency["p50"]! <= latency["p99"]! && latency["p99"]! <= latency["max"]!)

        // Prometheus text format: HELP and TYPE before each family, then `name{labels} value`.
        let lines = try String(contentsOfFile: metrics, encoding: .utf8).split(separator: "\n").map(String.init)
        let sample = try Regex(#"^(batch_tokenize_[a-z_]+)\{([a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*)\} (-?[0-9.e+]+)$"#)
        var typed = Set<String>()
        var values: [String: Double] = [:]
        for line in lines {
            if line.hasPrefix("# TYPE ") {
                typed.insert(String(line.split(separator: " ")[2]))
                #expect(line.hasSuffix(" gauge"))
                continue
            }
            if line.hasPrefix("# HELP ") { continue }
            let match = try #require(line.wholeMatch(of: sample), "not a sample line: \(line)")
            let name = String(match.output[1].substring!)
            #expect(typed.contains(name), "\(name) has a TYPE line first")
            let labels = String(match.output[2].substring!)
            values[name + "{" + labels.split(separator: ",").filter { !$0.hasPrefix("job_id") && !$0.hasPrefix("action") && !$0.hasPrefix("template_ref") }.joined(separator: ",") + "}"] =
                Double(match.output[4].substring!)
        }
        #expect(values["batch_tokenize_records{state=\"read\"}"] == 300)
        #expect(values["batch_tokenize_records{state=\"done\"}"] == 297)
        #expect(values["batch_tokenize_rejected_records{code=\"luhn-check-failed\"}"] == 3)
        #expect(values["batch_tokenize_exit_code{}"] == 2)
        #expect(values["batch_tokenize_success{}"] == 0)
        #expect(values["batch_tokenize_latency_seconds{quantile=\"0.99\"}"] != nil)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder.url.path).filter { $0.contains(".tmp") }
        #expect(leftovers.isEmpty, "written by rename: no temporary file is left")
    }

    // MARK: Progress off a terminal

    @Test func progressLinesWhenStderrIsNotATerminal() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let simulator = try SimulatorProcess()
        defer { _ = simulator.stop() }
        let input = folder.path("in.csv")
        try Self.cardsCSV(rows: 1_500, to: input)
        // 1,500 records at 500/s last at least 2.8 s, so lines every 0.25 s are bound to appear.
        func job(_ output: String, _ extra: [String]) throws -> BinaryLauncher.Outcome {
            try Self.run([
                "run", "--endpoint", simulator.url, "--template-ref", Self.template, "--input", input, "--output", folder.path(output),
                "--map", "card_number=card_number:luhn", "--map", "card_exp=card_exp", "--rate", "500", "--burst", "10",
                "--progress-interval", "0.25",
            ] + extra)
        }

        let text = try job("text.csv", [])
        #expect(text.status == 0, "\(text.stderr)")
        let progress = text.stderr.split(separator: "\n").filter { $0.contains(" progress: ") }
        #expect(progress.count >= 3, "\(text.stderr)")
        let line = try Regex(#"progress: (\d+) of (~?)(\d+) records \(([0-9.]+)%\), (\d+) records/s, ETA [0-9:unknow]+, in flight \d+ of a window of \d+ \([a-z]+\), connections \d+, errors 0, retries 0, reconnects 0$"#)
        var previous = 0
        for entry in progress {
            let match = try #require(entry.firstMatch(of: line), "\(entry)")
            let finished = Int(match.output[1].substring!)!
            #expect(finished >= previous)
            previous = finished
            #expect(Int(match.output[3].substring!)! >= finished)
        }
        #expect(!text.stderr.contains("\u{1B}["), "no terminal control sequences off a terminal")
        #expect(text.stderr.contains("the books balance: read 1500"))

        let json = try job("json.csv", ["--log-format", "json"])
        #expect(json.status == 0, "\(json.stderr)")
        let objects = try json.stderr.split(separator: "\n").map { try JSONText.object(String($0)) }
        #expect(objects.filter { $0["message"] as? String == "progress" }.count >= 3)
        let last = try #require(objects.last)
        #expect((last["report"] as? [String: Any])?["outcome"] as? String == "completed")

        let quiet = try job("quiet.csv", ["--quiet"])
        #expect(quiet.status == 0)
        #expect(!quiet.stderr.contains("progress"))
        #expect(quiet.stderr.contains("the books balance: read 1500"))
    }
}

/// The ORCA `fourPlainFourMasked` of a value, written out independently of the code under test.
enum MaskingPatternCheck {
    static func fourPlainFourMasked(_ value: String) -> String {
        String(value.enumerated().map { ($0.offset / 4) % 2 == 0 ? $0.element : "*" })
    }
}

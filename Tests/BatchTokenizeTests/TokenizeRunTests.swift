import Checkpoint
import Foundation
import Pipeline
import ShieldConex
import Testing
import TestSupport

/// `batch-tokenize run` end to end against a simulator in its own process.
@Suite(.serialized) struct TokenizeRunTests {

    static func tokenize(_ arguments: [String], simulator: SimulatorProcess) throws -> BinaryLauncher.Outcome {
        try TestRuns.tokenize(arguments, simulator: simulator)
    }

    static func checkOutput(input: String, output: String, expectedRows: Int, skipping rejected: Set<Int> = []) throws -> [[String]] {
        try TokenizedOutput.check(input: input, output: output, expectedRows: expectedRows, skipping: rejected)
    }

    @Test func tokenizesTheSampleCSVAndDetokenizesBackToTheInput() async throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let simulator = try SimulatorProcess()
        let output = folder.path("cards.tokenized.csv")
        let outcome = try Self.tokenize(["--config", "samples/job-cards-csv.json", "--output", output, "--rejects", folder.path("rejects.csv")], simulator: simulator)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("the books balance: read 200"))
        let rows = try Self.checkOutput(input: ProjectFiles.root + "/samples/cards.csv", output: output, expectedRows: 200)
        let input = try CSVFiles.read(ProjectFiles.root + "/samples/cards.csv").rows

        // Detokenizing the output gives back the input exactly (card numbers in their cleaned form).
        let client = try await ShieldConexConnection.connect(to: try Endpoint(simulator.url), key: APIKey(TestKeys.simulator))
        for index in stride(from: 0, to: rows.count, by: 17) where !rows[index][1].isEmpty && !input[index][1].isEmpty {
            let row = rows[index]
            let answer = try await client.send(
                .detokenize(bfid: row[6], values: [
                    FieldValue(name: "card_number", value: row[1]), FieldValue(name: "card_exp", value: row[2]),
                    FieldValue(name: "card_cvv", value: row[3]),
                ])
            )
            #expect(answer.values?.map(\.value) == [input[index][1].filter(\.isNumber), input[index][2], input[index][3]])
        }
        await client.close()

        // A second run finds the job complete and sends nothing.
        let again = try Self.tokenize(["--config", "samples/job-cards-csv.json", "--output", output, "--rejects", folder.path("rejects.csv")], simulator: simulator)
        #expect(again.status == 0)
        #expect(again.stderr.contains("already complete"))
        let counters = simulator.stop()
        #expect(counters.contains("tokenization-tokenize: 200"))
    }

    @Test func tokenizesTheSampleNDJSONInPlace() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let simulator = try SimulatorProcess()
        defer { _ = simulator.stop() }
        let output = folder.path("cards.tokenized.ndjson")
        let outcome = try Self.tokenize(["--config", "samples/job-cards-ndjson.json", "--output", output, "--rejects", folder.path("rejects.csv")], simulator: simulator)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("the books balance: read 200"))
        let inputLines = try String(contentsOfFile: ProjectFiles.root + "/samples/cards.ndjson", encoding: .utf8).split(separator: "\n")
        let outputLines = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n")
        #expect(outputLines.count == inputLines.count)
        for (inLine, outLine) in zip(inputLines, outputLines) {
            let source = try #require(try JSONSerialization.jsonObject(with: Data(inLine.utf8)) as? [String: Any])
            let result = try #require(try JSONSerialization.jsonObject(with: Data(outLine.utf8)) as? [String: Any])
            #expect(result["id"] as? String == source["id"] as? String, "records stay in input order")
            #expect((result["holder"] as? [String: String]) == (source["holder"] as? [String: String]))
            #expect((result["bfid"] as? String)?.count == 84)
            let pan = ((source["card"] as? [String: String])?["number"] ?? "").filter(\.isNumber)
            let token = (result["card"] as? [String: String])?["number"] ?? ""
            if !pan.isEmpty { #expect(token != pan && token.prefix(6) == pan.prefix(6) && token.suffix(4) == pan.suffix(4)) }
            // Card numbers in the free-text notes are tokenized in place; the rest of the note is kept.
            let note = source["notes"] as? String ?? ""
            let tokenizedNote = result["notes"] as? String ?? ""
            #expect(note.count == tokenizedNote.count)
        }
    }

    @Test func faultsStillGiveACompleteOrderedOutput() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let input = folder.path("cards.csv")
        try CSVFiles.generate(rows: 20_000, to: input)
        let simulator = try SimulatorProcess(["--latency-ms", "1", "--error-rate", "0.02", "--drop-after", "1000"])
        let output = folder.path("out.csv")
        let outcome = try Self.tokenize(
            ["--input", input, "--output", output, "--template-ref", "438ac8afecdd8035a21c126ee1fe6c19",
             "--map", "card_number=card_number:luhn", "--map", "card_exp=card_exp", "--map", "card_cvv=card_cvv"],
            simulator: simulator
        )
        // Drops and 8001s are transient: retried for the record's time budget (10 minutes), never
        // a reject. (Under the old rule, five attempts, a busy machine saw a record rejected.)
        let rejects = try CSVFiles.read(output + ".rejects.csv").rows
        #expect(rejects.isEmpty, "\(rejects)")
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("done: 20000"))
        #expect(outcome.stderr.contains("the books balance"))
        _ = try Self.checkOutput(input: input, output: output, expectedRows: 20_000)
        let counters = simulator.stop()
        #expect(counters.contains("8001:"), "server errors were injected")
        #expect(!counters.contains("dropped on purpose: 0,"), "connections were dropped")
    }

    /// With the client's rate below the service's limit, no request is throttled.
    @Test func theRateLimitKeepsTheServiceFromThrottling() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let input = folder.path("cards.csv")
        try CSVFiles.generate(rows: 1_000, to: input)
        let simulator = try SimulatorProcess(["--rate-limit", "500"])
        let outcome = try Self.tokenize(
            ["--input", input, "--output", folder.path("out.csv"), "--template-ref", "438ac8afecdd8035a21c126ee1fe6c19",
             "--map", "card_number=card_number", "--rate", "400"],
            simulator: simulator
        )
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("done: 1000"))
        let counters = simulator.stop()
        #expect(!counters.contains("1429:"), "the service never throttled: \(counters)")
    }

    @Test func killedRunsResumeToTheSameOutput() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let input = folder.path("cards.csv")
        try CSVFiles.generate(rows: 20_000, to: input)
        let simulator = try SimulatorProcess(["--latency-ms", "1"])
        let output = folder.path("out.csv")
        let arguments = ["run", "--endpoint", simulator.url, "--input", input, "--output", output, "--template-ref", "438ac8afecdd8035a21c126ee1fe6c19",
                         "--map", "card_number=card_number", "--map", "card_exp=card_exp"]
        let checkpoint = CheckpointStore.defaultPath(forOutput: output)
        var kills = 0
        var lastCommitted = -1
        while kills < 5 {
            let process = BinaryLauncher.process(arguments, environment: ["SCX_API_KEY": TestKeys.simulator])
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Kill once the run has committed something new: a moment chosen by the run's progress.
            let target = lastCommitted + Int.random(in: 500...2_500)
            while process.isRunning {
                if let summary = try? CheckpointStore.summary(path: checkpoint), (summary.commitPoint?.seq ?? -1) >= target { break }
                usleep(2_000)
            }
            guard process.isRunning else { break }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            kills += 1
            let summary = try CheckpointStore.summary(path: checkpoint)
            lastCommitted = summary.commitPoint?.seq ?? -1
        }
        #expect(kills >= 3)
        let final = try BinaryLauncher.run(Array(arguments), environment: ["SCX_API_KEY": TestKeys.simulator])
        #expect(final.status == 0, "\(final.stderr)")
        let rows = try Self.checkOutput(input: input, output: output, expectedRows: 20_000)
        #expect(Set(rows.map { $0[6] }).count == 20_000, "every record has its own bfid")
        let counters = simulator.stop()
        // Requests beyond one per record are bounded by the kills times the in-flight window.
        let sent = counters.split(separator: "\n").first { $0.contains("tokenization-tokenize:") }
            .flatMap { Int($0.split(separator: ":").last!.trimmingCharacters(in: .whitespaces)) } ?? 0
        #expect(sent >= 20_000 && sent <= 20_000 + (kills + 1) * 4 * 64 * 16)
    }
}

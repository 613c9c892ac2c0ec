import Foundation
import Testing
import TestSupport

/// The executable, run as a user would run it.
@Suite(.serialized) struct CommandLineTests {
    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> BinaryLauncher.Outcome {
        try BinaryLauncher.run(arguments, environment: environment)
    }

    @Test func helpListsTheCommandsAndWhereTheKeyComesFrom() throws {
        let help = try Self.run(["--help"])
        #expect(help.status == 0)
        for word in ["call", "simulate", "SCX_API_KEY", "--key-file", "local"] {
            #expect(help.stdout.contains(word), "help mentions \(word)")
        }
        let callHelp = try Self.run(["call", "--help"])
        for word in ["--endpoint", "--payload", "--key-file", "--ca-file", "tokenization-detokenize"] {
            #expect(callHelp.stdout.contains(word), "call help mentions \(word)")
        }
        let simulateHelp = try Self.run(["simulate", "--help"])
        for word in ["--latency-ms", "--error-rate", "--drop-after", "--rate-limit", "--idle-timeout", "--max-connections", "--seed", "--tls-cert"] {
            #expect(simulateHelp.stdout.contains(word), "simulate help mentions \(word)")
        }
    }

    @Test func callWorksAgainstTheEmbeddedSimulator() throws {
        let heartbeat = try Self.run(["call", "heartbeat", "--endpoint", "local"])
        #expect(heartbeat.status == 0)
        #expect(try JSONText.object(heartbeat.stdout)["success"] as? Bool == true)

        let payload = #"{"templateRef":"438ac8afecdd8035a21c126ee1fe6c19","omit":false,"store":true,"reference":"cli-test","values":[{"name":"card_exp","value":"1227"},{"name":"card_cvv","value":"321"}]}"#
        let tokenized = try Self.run(["call", "tokenization-tokenize", "--endpoint", "local", "--payload", payload])
        #expect(tokenized.status == 0)
        let response = try JSONText.object(tokenized.stdout)
        let body = try #require(response["payload"] as? [String: Any])
        #expect((body["bfid"] as? String)?.isEmpty == false)
        #expect((body["values"] as? [[String: String]])?.count == 2)

        let refused = try Self.run(["call", "template-validate", "--endpoint", "local", "--payload", #"{"templateRef":"missing"}"#])
        #expect(refused.status == 3)
        #expect(try JSONText.object(refused.stdout)["success"] as? Bool == false)
    }

    @Test func badInputIsRefusedBeforeConnecting() throws {
        let unknownAction = try Self.run(["call", "dance", "--endpoint", "local"])
        #expect(unknownAction.status == 64)
        #expect(unknownAction.stderr.contains("unknown action"))
        let badPayload = try Self.run(["call", "tokenization-read", "--endpoint", "local", "--payload", #"{"bfid":"short"}"#])
        #expect(badPayload.status == 64)
        #expect(badPayload.stderr.contains("bfid length 5 is outside 30-150"))
        let noKey = try Self.run(["call", "heartbeat", "--endpoint", "ws://127.0.0.1:9"])
        #expect(noKey.status == 64)
        #expect(noKey.stderr.contains("SCX_API_KEY"))
        let badEndpoint = try Self.run(["call", "heartbeat", "--endpoint", "http://example.test"])
        #expect(badEndpoint.status == 64)
    }

    @Test func simulateServesUntilSignalledAndPrintsCounters() throws {
        let key = "Y2xpLXRlc3Q6a2V5"
        let process = BinaryLauncher.process(["simulate", "--port", "0", "--key", key, "--seed", "1"])
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }

        var first = Data()
        while !first.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            first.append(chunk)
        }
        let line = String(decoding: first, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
        #expect(line.hasPrefix("listening on ws://127.0.0.1:"))
        let url = String(line.dropFirst("listening on ".count))

        let answered = try Self.run(["call", "partner-validate", "--endpoint", url], environment: ["SCX_API_KEY": key])
        #expect(answered.status == 0)
        let wrongKey = try Self.run(["call", "partner-validate", "--endpoint", url], environment: ["SCX_API_KEY": "d3Jvbmc="])
        #expect(wrongKey.status == 4)
        #expect(wrongKey.stderr.contains("authentication error"))
        #expect(!wrongKey.stderr.contains("d3Jvbmc="))

        process.interrupt()
        let rest = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let counters = String(decoding: rest, as: UTF8.self)
        #expect(counters.contains("simulator counters:"))
        #expect(counters.contains("partner-validate: 1"))
        #expect(counters.contains("1 refused"))
    }
}

/// `run --dry-run` over the shipped samples.
@Suite(.serialized) struct DryRunCommandTests {
    static func run(_ arguments: [String]) throws -> BinaryLauncher.Outcome {
        try BinaryLauncher.run(arguments, directory: ProjectFiles.root)
    }

    @Test(arguments: ["samples/job-cards-csv.json", "samples/job-cards-ndjson.json"])
    func sampleJobsDryRun(job: String) throws {
        let outcome = try Self.run(["run", "--config", job, "--rejects", "/dev/null", "--dry-run"])
        #expect(outcome.status == 0)
        #expect(outcome.stdout.contains("records read: 200"))
        #expect(outcome.stdout.contains("records that would be sent: 200"))
    }

    @Test func shortFormMappingOverridesTheJobFile() throws {
        let outcome = try Self.run(["run", "--config", "samples/job-cards-csv.json", "--map", "card_cvv=card_cvv", "--rejects", "/dev/null", "--dry-run"])
        #expect(outcome.status == 0)
        #expect(outcome.stdout.contains("card_cvv: 200"))
        #expect(!outcome.stdout.contains("card_number:"))
    }

    @Test func invalidMappingIsReportedBeforeAnythingIsRead() throws {
        let outcome = try Self.run(["run", "--input", "samples/cards.csv", "--map", "pan=card_number", "--dry-run"])
        #expect(outcome.status == 64)
        #expect(outcome.stderr.contains("no column 'pan' in the header (columns: id, card_number, card_exp, card_cvv, name, notes)"))
        let duplicate = try Self.run(["run", "--input", "samples/cards.csv", "--map", "card_number=f", "--map", "card_exp=f", "--dry-run"])
        #expect(duplicate.stderr.contains("field 'f' is mapped twice"))
    }
}

/// Numbers on the command line that are out of range, not finite, or whose product overflows
/// are usage errors that name the allowed range, never a trap (`--timeout 1e300` trapped in
/// `Int64(seconds * 1000)`).
@Suite(.serialized) struct OptionRangeTests {
    @Test(arguments: [
        ["--timeout", "1e300"], ["--timeout", "nan"], ["--heartbeat-interval", "inf"], ["--rate", "nan"], ["--rate=-1"],
        ["--burst", "1e300"], ["--stop-deadline", "1e300"], ["--retry-for", "inf"], ["--progress-interval", "nan"],
        ["--connections", "100000"], ["--connections", "1024", "--in-flight", "65536"], ["--in-flight", "0"],
    ])
    func outOfRangeNumbersAreUsageErrors(option: [String]) throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let outcome = try BinaryLauncher.run(
            ["run", "--endpoint", "local", "--input", "samples/cards.csv", "--output", folder.path("out.csv"), "--template-ref",
             "438ac8afecdd8035a21c126ee1fe6c19", "--map", "card_number=card_number"] + option,
            directory: ProjectFiles.root
        )
        #expect(outcome.status == 64, "\(option): \(outcome.stderr)")
        #expect(outcome.stderr.contains("must be"), "\(outcome.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder.path("out.csv")), "nothing is written")
    }

    @Test(arguments: [["--latency-ms", "1e300"], ["--rate-limit", "nan"], ["--idle-timeout", "inf"], ["--error-rate", "nan"]])
    func outOfRangeSimulatorNumbersAreUsageErrors(option: [String]) throws {
        let outcome = try BinaryLauncher.run(["simulate", "--port", "0", "--key", "eDp5"] + option)
        #expect(outcome.status == 64, "\(option): \(outcome.stderr)")
    }
}

import ArgumentParser
import Foundation
import Logging
import NIOCore
import Pipeline
import ShieldConex

extension BatchTokenize {
    /// Detokenizes a random sample of a finished job's output and checks it against the input.
    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a tokenize job's output: detokenize a random sample and compare it with the input.",
            discussion: """
                Prints only counts and record numbers, never values. Records listed in the rejects \
                file have no output record and are skipped. For an irreversible template it says so \
                and exits 0: there is nothing it can check.

                Example:
                  batch-tokenize verify --endpoint local --template-ref 438ac8afecdd8035a21c126ee1fe6c19 \\
                    --input samples/cards.csv --output /tmp/cards.tokenized.csv --sample 50 \\
                    --map card_number=card_number --map card_exp=card_exp
                """
        )

        @OptionGroup var connection: ConnectionOptions

        @Option(help: "The tokenize job's input.")
        var input: String

        @Option(help: "The tokenize job's output.")
        var output: String

        @Option(help: "Its rejects file (default: <output>.rejects.csv).")
        var rejects: String?

        @Option(help: "Records to check.")
        var sample = 100

        @Option(help: "Seed of the random sample (default: random).")
        var seed: UInt64?

        @Option(help: "Input format: csv or ndjson (default: from the file name).")
        var format: InputFormat?

        @Option(help: "CSV delimiter: , tab | ;")
        var delimiter: String?

        @Flag(help: "CSV without a header row (the job ran with --no-header).")
        var noHeader = false

        @Option(name: .customLong("map"), help: "The tokenize job's mapping (repeatable), or --config.")
        var maps: [String] = []

        @Option(help: "The tokenize job's job file.")
        var config: String?

        @Option(help: "The template the job tokenized with.")
        var templateRef: String?

        @Option(help: "The bfid column (CSV) or key (NDJSON) of the output.")
        var bfidColumn: String?

        func run() async throws {
            connection.log.bootstrap()
            let logger = Logger(label: "batch-tokenize.verify")
            try OptionRange.check(sample, "--sample", 1...1_000_000)
            var job = try usage { try config.map(JobConfiguration.load(path:)) } ?? JobConfiguration()
            if !maps.isEmpty { job.instructions = try usage { try maps.map { try Instruction(shortForm: $0) } } }
            guard let templateRef = templateRef ?? job.templateRef else { throw ValidationError("no template: give --template-ref or templateRef in the job file") }
            if input == InputSource.standardInput {
                throw ValidationError("verify does not read standard input: it compares records of the input and the output by their places in both; give it the file")
            }
            let inputFormat = format ?? job.input?.format ?? InputFormat.guess(path: input)
            let delimiterByte = try usage { try JobConfiguration.delimiterByte(delimiter ?? job.input?.delimiter) }
            let rejected = try usage { try Self.rejectedRecords(path: rejects ?? job.output?.rejects ?? output + ".rejects.csv") }
            let drawn = try usage {
                try OutputSample.draw(
                    size: sample, inputPath: input, outputPath: output, format: inputFormat, delimiter: delimiterByte,
                    instructions: job.instructions ?? [], bfidColumn: bfidColumn ?? job.output?.bfidColumn ?? "bfid", rejected: rejected,
                    seed: seed ?? UInt64.random(in: .min ... .max), hasHeader: !noHeader && (job.input?.header ?? true)
                )
            }
            print("finished records with values: \(drawn.candidates); sampled: \(drawn.entries.count)")
            if drawn.unmappable > 0 { print("output records whose tokens could not be mapped (not checked): \(drawn.unmappable)") }
            guard !drawn.entries.isEmpty else {
                // Records that could not be checked are a failed check, not a passed one.
                if drawn.unmappable > 0 {
                    Console.write("error: no record could be checked (\(drawn.unmappable) output records whose tokens or bfids could not be mapped)")
                    throw ExitCode.failure
                }
                return
            }

            let resolved = try await connection.resolve(logger: logger)
            defer { Task { [resolved] in await resolved.shutdown() } }
            switch await Preflight.check(
                endpoint: resolved.endpoint, key: resolved.key, templateRef: templateRef, connection: connection.connectionConfiguration,
                retryFor: .seconds(60), reference: nil, logger: logger
            ) {
            case .good:
                break
            case .handshakeRefused(let error):
                Console.write("error: \(error)")
                throw ExitCodes.refused
            case .credentialsRefused(let failure):
                Console.write("error: partner-validate failed: \(failure?.description ?? "the credentials were not accepted")")
                throw ExitCodes.refused
            case .templateRefused(let failure):
                Console.write("error: template-validate failed for \(templateRef): \(failure?.description ?? "refused")")
                throw ExitCodes.refused
            case .unreachable(let reason), .lost(let reason):
                Console.write("error: cannot connect: \(reason)")
                throw ExitCodes.connection
            }
            let client: ShieldConexConnection
            do {
                client = try await ShieldConexConnection.connect(
                    to: resolved.endpoint, key: resolved.key, configuration: connection.connectionConfiguration, logger: logger
                )
            } catch {
                Console.write("error: cannot connect: \(error)")
                throw ExitCodes.connection
            }
            // A record whose bfid column holds several bfids was sent as several requests (the
            // k-th match of each field in the k-th): it is checked the same way, group by group.
            var requests: [Request] = []
            var parts: [(entry: Int, indices: [Int])] = []
            var failed: [String: [Int]] = [:]
            for (index, entry) in drawn.entries.enumerated() {
                let bfids = entry.bfid.split(separator: MappedRecord.bfidSeparator).map(String.init)
                let groups = bfids.count > 1 ? MappedRecord.groups(of: entry.tokens.map(\.name)) : [Array(entry.tokens.indices)]
                guard groups.count == bfids.count else {
                    failed["bfid-mismatch", default: []].append(entry.record)
                    continue
                }
                for (group, indices) in groups.enumerated() {
                    requests.append(.detokenize(bfid: bfids[group], values: indices.map { entry.tokens[$0] }, reference: "verify:\(entry.record)"))
                    parts.append((index, indices))
                }
            }
            let answers = client.send(requests)
            var outcome = [Bool?](repeating: true, count: drawn.entries.count)  // nil: not checked
            for (part, answer) in zip(parts, answers) {
                let entry = drawn.entries[part.entry]
                guard outcome[part.entry] != nil else { continue }
                let response: Response
                do {
                    response = try await answer.get()
                } catch {
                    failed["client-error", default: []].append(entry.record)
                    outcome[part.entry] = nil
                    continue
                }
                if let failure = response.failure, !response.success {
                    if failure.code == .irreversibleTemplate {
                        print("the template \(templateRef) is irreversible: its tokens cannot be detokenized, so verify has nothing to check")
                        await client.close()
                        return
                    }
                    failed[failure.code.map { "\($0.rawValue)" } ?? "unknown", default: []].append(entry.record)
                    outcome[part.entry] = nil
                    continue
                }
                let values = response.values ?? []
                let plaintext = part.indices.map { entry.plaintext[$0] }
                let same = plaintext.allSatisfy { plain in values.first { $0.name == plain.name }?.value == plain.value }
                if !(same && values.count == plaintext.count) { outcome[part.entry] = false }
            }
            var matched = 0
            var mismatched: [Int] = []
            for (index, result) in outcome.enumerated() where !failed.values.contains(where: { $0.contains(drawn.entries[index].record) }) {
                if result == true { matched += 1 } else if result == false { mismatched.append(drawn.entries[index].record) }
            }
            await client.close()
            print("matched: \(matched) of \(drawn.entries.count)")
            if !mismatched.isEmpty { print("MISMATCHED records: \(mismatched.map(String.init).joined(separator: " "))") }
            for (code, records) in failed.sorted(by: { $0.key < $1.key }) {
                print("not checked, answered \(code): records \(records.map(String.init).joined(separator: " "))")
            }
            if !mismatched.isEmpty || !failed.isEmpty || drawn.unmappable > 0 { throw ExitCode.failure }
        }

        /// The record numbers in a rejects file (its first column).
        static func rejectedRecords(path: String) throws -> Set<Int> {
            guard FileManager.default.fileExists(atPath: path) else { return [] }
            var reader = try CSVReader(path: path)
            var numbers = Set<Int>()
            while let record = try reader.next() {
                if case .csv(let fields) = record.content, let first = fields.first, let number = Int(first.value(in: record.bytes)) {
                    numbers.insert(number)
                }
            }
            return numbers
        }
    }
}

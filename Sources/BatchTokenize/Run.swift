import ArgumentParser
import Foundation
import Pipeline

extension BatchTokenize {
    /// Tokenizes a file. For now only `--dry-run` is available: the engine is the next issue.
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Tokenize the mapped values of a CSV or NDJSON file (now: --dry-run only).",
            discussion: """
                Mapping: --map COLUMN=FIELD (CSV column or top-level NDJSON key) or --map '$.path=FIELD' \
                (NDJSON), optionally followed by :luhn,digits,skip-empty; or the instructions of a job \
                file (--config job.json, ORCA-shaped). Command-line options override the job file.
                """
        )

        @Option(help: "Input file (CSV or NDJSON).")
        var input: String?

        @Option(help: "Output file.")
        var output: String?

        @Option(help: "Input format: csv or ndjson (default: from the file name).")
        var format: InputFormat?

        @Option(help: "CSV delimiter: , tab | ;")
        var delimiter: String?

        @Option(name: .customLong("map"), help: "COLUMN=FIELD or '$.path=FIELD', optionally :luhn,digits,skip-empty (repeatable).")
        var maps: [String] = []

        @Option(help: "A job file (JSON, ORCA-shaped).")
        var config: String?

        @Option(help: "The template to tokenize with.")
        var templateRef: String?

        @Option(help: "A column or key that identifies records in the rejects file (never a sensitive one).")
        var idColumn: String?

        @Option(help: "Name of the bfid column (CSV) or key (NDJSON) added to the output.")
        var bfidColumn: String?

        @Option(help: "Rejects file (CSV: record, line, id, error code, message; never the values).")
        var rejects: String?

        @Flag(help: "Read and map the whole input without connecting; print what would be sent.")
        var dryRun = false

        func run() async throws {
            var job = try config.map { path in
                do { return try JobConfiguration.load(path: path) } catch { throw ValidationError("\(error)") }
            } ?? JobConfiguration()
            if !maps.isEmpty {
                var instructions: [Instruction] = []
                for text in maps {
                    do { instructions.append(try Instruction(shortForm: text)) } catch { throw ValidationError("\(error)") }
                }
                job.instructions = instructions
            }
            var inputSettings = job.input ?? .init()
            if let input { inputSettings.path = input }
            if let format { inputSettings.format = format }
            if let delimiter { inputSettings.delimiter = delimiter }
            if let idColumn { inputSettings.idColumn = idColumn }
            guard let inputPath = inputSettings.path else { throw ValidationError("no input: give --input FILE or input.path in the job file") }
            let inputFormat = inputSettings.format ?? InputFormat.guess(path: inputPath)
            let delimiterByte: UInt8
            do { delimiterByte = try JobConfiguration.delimiterByte(inputSettings.delimiter) } catch { throw ValidationError("\(error)") }

            guard dryRun else {
                throw ValidationError("run without --dry-run needs the tokenization engine, which is not built yet; use --dry-run")
            }
            let opened: (reader: any RecordReader, header: CSVHeader?)
            do {
                opened = try InputSource.open(path: inputPath, format: inputFormat, delimiter: delimiterByte)
            } catch {
                throw ValidationError("\(error)")
            }
            let mapper: FieldMapper
            do {
                mapper = try FieldMapper(instructions: job.instructions ?? [], format: inputFormat, header: opened.header)
            } catch {
                throw ValidationError("\(error)")
            }
            do {
                _ = try OutputRenderer(
                    format: inputFormat, header: opened.header, delimiter: delimiterByte,
                    bfidColumn: bfidColumn ?? job.output?.bfidColumn ?? "bfid"
                )
            } catch {
                throw ValidationError("\(error)")
            }
            let identifier: RecordIdentifier?
            do {
                identifier = try inputSettings.idColumn.map { try RecordIdentifier(idColumn: $0, format: inputFormat, header: opened.header) }
            } catch {
                throw ValidationError("\(error)")
            }
            let rejectsFile = try (rejects ?? job.output?.rejects).map { path in
                let file = try OutputFile(path: path)
                try file.write(RejectsRenderer.headerLine)
                return file
            }
            var rejectLine: [UInt8] = []
            let renderer = RejectsRenderer()
            var reader = opened.reader
            var report = DryRunReport()
            while let record = try reader.next() {
                let outcome = mapper.map(record)
                report.count(outcome)
                if case .failure(let error) = outcome, let rejectsFile {
                    rejectLine.removeAll(keepingCapacity: true)
                    renderer.render(
                        record: record.number, line: record.position.line, id: identifier?.id(of: record),
                        code: error.code.rawValue, message: error.message, into: &rejectLine
                    )
                    try rejectsFile.write(rejectLine)
                }
            }
            try rejectsFile?.sync()
            print(report)
            print(String(format: "peak memory: %.1f MiB", ProcessUsage.peakResidentMiB()))
        }
    }
}

extension InputFormat: ExpressibleByArgument {}

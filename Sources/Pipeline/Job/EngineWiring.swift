import Checkpoint
import Foundation
import Logging
import NIOCore
import NIOPosix
import ShieldConex

/// Wires a job's engine from the real parts: the input file, the output and rejects files, the
/// checkpoint (its writer and a read-only reader), and connections to the service; decides where
/// a resume starts. The engine itself knows none of them.
enum EngineWiring {
    /// Runs a job: checks the credentials and the template, then runs the engine on one event
    /// loop until every record is finished, the job is interrupted or it cannot go on.
    static func run(
        configuration: BatchJob.Configuration, store: CheckpointStore, jobId: String, logger: Logger, interruptions: AsyncStream<Void>?
    ) async throws -> JobSummary {
        // One TLS context for the run: the checks' connection and every one of the engine's.
        let connector: ShieldConexConnector
        do {
            connector = try ShieldConexConnector(endpoint: configuration.endpoint, key: configuration.key, configuration: configuration.connection, logger: logger)
        } catch {
            throw JobError(.connection, "cannot set up TLS for \(configuration.endpoint): \(error)")
        }
        try await Preflight.check(configuration: configuration, connector: connector, reference: "\(jobId):validate", logger: logger)
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let writer = WriterThread()
        let engine: Engine
        do {
            engine = try makeEngine(configuration: configuration, store: store, jobId: jobId, logger: logger, loop: loop, connector: connector, writer: writer)
        } catch {
            await writer.shutdown()
            throw error
        }
        let listener = Task {
            guard let interruptions else { return }
            for await _ in interruptions { loop.execute { engine.handle(.stopRequested) } }
        }
        defer { listener.cancel() }
        loop.execute { engine.handle(.started) }
        do {
            let summary = try await engine.outcome.get()
            await writer.shutdown()
            return summary
        } catch {
            await writer.shutdown()
            throw error
        }
    }

    /// The engine of a job over its files and checkpoint.
    static func makeEngine(
        configuration: BatchJob.Configuration, store: CheckpointStore, jobId: String, logger: Logger, loop: any EventLoop,
        connector: any ServiceConnector, writer: any BlockingWorker
    ) throws -> Engine {
        // A table output: the database's progress row is taken first (it may be ahead of the checkpoint).
        let tableOutput = try PostgresSettings.isURL(configuration.outputPath)
            ? openTableOutput(configuration: configuration, store: store, jobId: jobId, logger: logger) : nil
        let resume = ResumeDecision.decide(
            committed: store.commitPoint, written: store.writtenPoint, output: tableOutput != nil ? .table : .of(path: configuration.outputPath),
            rejects: .of(path: configuration.rejectsPath), shardStart: configuration.shard?.start
        )
        let point = resume.point
        if resume.filesLostLines {
            logger.warning(
                "the output or rejects file ends before the last written point the checkpoint stored (the machine lost its power, or a file was cut): the records after the commit point are sent again",
                metadata: ["commit.seq": "\(store.commitPoint?.seq ?? -1)", "written.seq": "\(store.writtenPoint?.seq ?? -1)"]
            )
        }
        let source: any RecordSource
        var sinceLastRun: (key: String, insertedBelow: Int)?
        let mapper: FieldMapper
        let renderer: OutputRenderer
        let identifier: RecordIdentifier?
        let bfidReader: RecordIdentifier?
        if PostgresSettings.isURL(configuration.inputPath) {
            do {
                let table = try TableInput.parse(configuration.inputPath, environment: ProcessInfo.processInfo.environment)
                try table.refuseMappedKey(configuration.instructions)
                // Each point stores the key of the row before it: without one, no resume knows where to read on.
                if let point, point.inputOffset > 0, point.inputDigest == nil {
                    throw JobError(.configuration, "the checkpoint's commit point holds no key of \(table.described): run with --restart to start over")
                }
                // A table output writes the key and the mapped columns only: the rest is not read.
                // (A detokenize or read job reads the bfids too: every column.)
                let columns = tableOutput == nil || configuration.action != .tokenize
                    ? nil : TableDestination.mappedColumns(configuration.instructions) + (configuration.idColumn.map { [$0] } ?? [])
                // A shard of a plan reads its key range: from after its first key, or the point's, through its last.
                let startKey = point?.inputDigest ?? configuration.shard?.afterKey
                let reader = try TableReader(
                    input: table, after: startKey, through: configuration.shard?.throughKey, from: resume.readFrom, columns: columns, logger: logger
                )
                let types = try reader.columnTypes()
                try MappedColumnTypes.check(configuration.instructions, types: types, relation: reader.relation.name)
                // Into a table, whole text columns: rows read and written as CSV lines, no JSON made or parsed.
                // (Not with --omit: its empty tokens must stay empty strings, which a read job fills, not NULLs.)
                var shaped = configuration
                if let tableOutput, columns != nil, !configuration.omit, MappedColumnTypes.fitFields(configuration.instructions, types: types) {
                    reader.shape = .fields
                    try tableOutput.stageFields(reader.fieldColumns)
                    (shaped.format, shaped.delimiter) = (.csv, UInt8(ascii: ","))
                }
                logger.debug("reading a table", metadata: ["table": "\(reader.relation.name)", "rows": "\(reader.shape == .fields ? "fields" : "json")"])
                if let plan = configuration.tablePlan {
                    do {
                        try plan.checkTable(table, definition: reader.relation.definition, key: configuration.digestKey)
                    } catch let error as ShardPlan.PlanError {
                        throw JobError(.configuration, error.description + ". Nothing was sent")
                    }
                }
                // The table as the job's first run found it, or refused: a retyped or dropped
                // column would map differently (or not at all) from one run to the next.
                if let before = try store.inputDefinition("input") {
                    guard before == reader.relation.definition else {
                        throw JobError(
                            .configuration,
                            "\(reader.relation.name) was altered since this job began (then: \(before); now: \(reader.relation.definition)). "
                                + "Nothing was sent; put the table back as it was to resume, or run with --restart to start over"
                        )
                    }
                } else {
                    try store.setInputDefinition("input", reader.relation.definition)
                }
                if configuration.sinceLastRun, let point, let key = point.inputDigest {
                    // Rows that took keys the last run had passed are never read after it: counted, said.
                    sinceLastRun = (key, max(0, try reader.count(through: key) - (point.seq + 1)))
                }
                source = TableSource(reader: reader, startKey: startKey, loop: loop)
                let header = reader.shape == .fields
                    ? CSVHeader(
                        names: reader.fieldColumns, bytes: [], ending: .lf, dataStart: RecordPosition(seq: 0, offset: 0, line: 1), hasByteOrderMark: false,
                        isPresent: false
                    ) : nil
                (mapper, renderer, identifier, bfidReader) = try mapping(shaped, header: header)
            } catch let error as PostgresSettings.Failure {
                throw error.jobError
            } catch let error as MappingError {
                throw JobError(.configuration, error.description)
            }
        } else {
            let opened: (reader: any RecordReader, header: CSVHeader?)
            do {
                opened = try InputSource.open(
                    path: configuration.inputPath, format: configuration.format, delimiter: configuration.delimiter, from: resume.readFrom,
                    hasHeader: configuration.hasHeader, streamName: configuration.inputName, digestKey: configuration.digestKey,
                    // A shard of a gzip input inflates from the member its plan found before its start.
                    member: configuration.shard?.member
                )
                // A stream read again up to the point: its bytes there must be those committed (a
                // point without a digest cannot vouch for any stream).
                if let point, configuration.inputPath == InputSource.standardInput,
                    point.inputDigest == nil || opened.reader.prefixDigest(through: point.inputOffset) != point.inputDigest
                {
                    throw JobError(
                        .configuration,
                        "the input on standard input (\(configuration.inputName ?? "-")) is not the stream this job began with: its first \(point.inputOffset) bytes differ from those committed. "
                            + "Nothing was sent; give the same stream (the same producer and data, in the same order) to resume, or run with --restart to start over"
                    )
                }
                (mapper, renderer, identifier, bfidReader) = try mapping(configuration, header: opened.header)
            } catch let error as MappingError {
                throw JobError(.configuration, error.description)
            } catch let error as CSVReader.ConfigurationError {
                // No header, or not UTF-8: the file is not what the job was told it is.
                throw JobError(.configuration, error.description)
            } catch let error as ChunkedFileReader.IOError where error.kind == .open {
                // Gone or unreadable since the command was checked.
                throw JobError(.configuration, error.description)
            } catch let error as ChunkedFileReader.IOError where error.kind == .seek && configuration.inputPath == InputSource.standardInput {
                throw JobError(
                    .configuration,
                    "the input on standard input (\(configuration.inputName ?? "-")) is not the stream this job began with: \(error.description). "
                        + "Nothing was sent; give the same stream to resume, or run with --restart to start over"
                )
            }
            source = ReaderSource(opened.reader)
        }
        // Only a detokenize output holds plaintext; every output is created 0600 all the same.
        // Compressed as their names say (`.gz`).
        let output: any OutputSink
        let rejects: any OutputSink
        do {
            let outputIdentity: FileIdentity
            let rejectsIdentity: FileIdentity
            // Taken up at a written point: a gzip file's member, begun at the commit point, is open there.
            let adopting = resume.adoptedWritten != nil
            if let tableOutput {
                (output, outputIdentity) = (tableOutput, FileIdentity(device: 0, inode: 0))
            } else {
                (output, outputIdentity) = try OutputCompression.open(
                    path: configuration.outputPath, resumeAt: point?.outputOffset, expected: try store.fileIdentity("output"),
                    memberStart: adopting ? store.commitPoint?.outputOffset ?? 0 : nil
                )
            }
            (rejects, rejectsIdentity) = try OutputCompression.open(
                path: configuration.rejectsPath, resumeAt: point?.rejectsOffset, expected: try store.fileIdentity("rejects"),
                memberStart: adopting ? store.commitPoint?.rejectsOffset ?? 0 : nil
            )
            if point == nil {
                // With where they are, for `merge` (a shard's files are wherever its options put them).
                if tableOutput == nil {
                    try store.setFileIdentity("output", outputIdentity, path: URL(fileURLWithPath: configuration.outputPath).standardizedFileURL.path)
                }
                try store.setFileIdentity("rejects", rejectsIdentity, path: URL(fileURLWithPath: configuration.rejectsPath).standardizedFileURL.path)
            }
        } catch let error as OutputFile.IOError {
            throw JobError(.configuration, error.description)
        }
        if var written = resume.adoptedWritten {
            // The lines up to the written point are the committed part from now on, durably (a
            // gzip file's, with the member it ended inside closed: longer by its end).
            do {
                try output.sync()
                try rejects.sync()
                written.outputOffset = try output.fileOffset(of: output.offset)
                written.rejectsOffset = try rejects.fileOffset(of: rejects.offset)
            } catch let error as OutputFile.IOError {
                throw JobError(.configuration, error.description)
            }
            try store.commit(written)
        }
        // From here on the writer owns the store and the files; the loop reads stored results
        // through a connection of its own.
        let stage = CheckpointStage(
            store: store, stored: try CheckpointReader(path: store.path), commitPoint: store.commitPoint, output: output, rejects: rejects,
            writer: writer, loop: loop
        )
        let inputSize = PostgresSettings.isURL(configuration.inputPath)
            ? 0 : (try? FileManager.default.attributesOfItem(atPath: configuration.inputPath)[.size] as? NSNumber)?.int64Value ?? 0
        let parts = Engine.Parts(
            source: source, mapper: mapper, renderer: renderer, identifier: identifier, bfidReader: bfidReader,
            stage: stage, connector: connector, firstSeq: resume.firstSeq, notReusedThrough: resume.notReusedThrough,
            writesHeaders: point == nil, inputSize: inputSize
        )
        let engine = Engine(configuration: configuration, jobId: jobId, logger: logger, loop: loop, parts: parts)
        if let sinceLastRun {
            engine.summary.sinceLastRunKey = sinceLastRun.key
            engine.summary.insertedBelowKey = sinceLastRun.insertedBelow
        }
        return engine
    }

    /// How a job's records map onto requests and render as lines, for an input with `header`.
    static func mapping(
        _ configuration: BatchJob.Configuration, header: CSVHeader?
    ) throws(MappingError) -> (FieldMapper, OutputRenderer, identifier: RecordIdentifier?, bfidReader: RecordIdentifier?) {
        var mapper = try FieldMapper(
            instructions: configuration.instructions, format: configuration.format, header: header,
            reading: configuration.action == .tokenize ? .values : .tokens(spansColumn: FieldMapper.spansColumn(bfidColumn: configuration.bfidColumn))
        )
        // A read fills columns that an --omit tokenize job left empty.
        mapper.acceptsEmpty = configuration.action == .read
        let renderer = try OutputRenderer(
            format: configuration.format, header: header, delimiter: configuration.delimiter, bfidColumn: configuration.bfidColumn,
            writesBfid: configuration.action.addsBfidColumn, spanInstructions: mapper.spanInstructions,
            oldBfidColumn: configuration.action == .retokenize ? configuration.oldBfidColumn : nil
        )
        let identifier = try configuration.idColumn.map { name throws(MappingError) in
            let identifier = try RecordIdentifier(idColumn: name, format: configuration.format, header: header)
            try identifier.checkNotMapped(by: mapper, name: name)
            return identifier
        }
        try RecordIdentifier.checkBfidColumn(
            configuration.bfidColumn, producesBfid: configuration.action.addsBfidColumn, format: configuration.format, header: header, mapper: mapper
        )
        let bfidReader = configuration.action.readsBfid
            ? try RecordIdentifier(idColumn: configuration.bfidColumn, format: configuration.format, header: header) : nil
        return (mapper, renderer, identifier, bfidReader)
    }
}

import Checkpoint
import Foundation
import Logging
import NIOCore
import PostgresNIO

extension EngineWiring {
    /// Opens a table output (``TableOutput``) for a job over a table input, and makes the
    /// checkpoint agree with the database: the database commits first, so a run killed between
    /// the two finds the database's progress row ahead, and takes its point; a checkpoint ahead of
    /// the database (restored from a backup?) is refused, since rows it counts as written are not.
    static func openTableOutput(configuration: BatchJob.Configuration, store: CheckpointStore, jobId: String, logger: Logger) throws -> TableOutput {
        guard PostgresSettings.isURL(configuration.inputPath) else {
            throw JobError(.configuration, "a table output is written from a table input (--input postgresql://…?table=…&key=…)")
        }
        // Shards of a plan write one table side by side: each its own progress row.
        let progressJob = configuration.shard.map { "\(jobId):shard-\($0.index)-of-\(configuration.shardCount)" } ?? jobId
        do {
            let environment = ProcessInfo.processInfo.environment
            let input = try TableInput.parse(configuration.inputPath, environment: environment)
            let connection = try PostgresConnector.connect(try PostgresSettings.resolve(url: configuration.outputPath, environment: environment), logger: logger)
            do {
                let relation = try TableRelation.inspect(input, on: connection, logger: logger)
                let destination = try TableDestination.open(
                    url: configuration.outputPath, input: input, relation: relation, instructions: configuration.instructions,
                    bfidColumn: configuration.bfidColumn, environment: environment, on: connection, logger: logger
                )
                if configuration.action == .detokenize {
                    // Plaintext: never over the tokens, and readable by no role but the table's owner.
                    guard destination.mode == .newTable else {
                        throw PostgresSettings.Failure(
                            "a detokenize job writes plaintext card data: into a new table of its own (--output …?table=NEW), never over the tokens in \(destination.name)"
                        )
                    }
                    try PlaintextTable.restrictToOwner(destination, on: connection, logger: logger)
                }
                try ProgressTable.create(on: connection, logger: logger)
                if let row = try ProgressTable.read(job: progressJob, on: connection, logger: logger) {
                    let stored = store.commitPoint?.seq ?? -1
                    if row.point.seq > stored {
                        logger.info(
                            "the database is ahead of the checkpoint (a run stopped between the two commits): taking its point",
                            metadata: ["database.seq": "\(row.point.seq)", "checkpoint.seq": "\(stored)"]
                        )
                        try store.commit(row.point, complete: false)
                    } else if row.point.seq < stored {
                        throw JobError(
                            .configuration,
                            "the database's progress for this job (\(ProgressTable.name), record \(row.point.seq + 1)) is behind the checkpoint's (record \(stored + 1)): "
                                + "was the database restored from a backup? Rows the checkpoint counts as written are not in \(destination.name). Nothing was sent"
                        )
                    }
                } else if let point = store.commitPoint, point.seq >= 0 {
                    throw JobError(
                        .configuration,
                        "the checkpoint says \(point.seq + 1) records are written to \(destination.name), but the database has no progress row for this job: "
                            + "was the table or \(ProgressTable.name) restored or dropped? Nothing was sent"
                    )
                }
                logger.info("writing to a table", metadata: ["table": "\(destination.name)", "mode": "\(destination.mode.rawValue)"])
                return try TableOutput(
                    destination: destination, connection: connection, job: progressJob, offset: store.commitPoint?.outputOffset ?? 0, logger: logger
                )
            } catch {
                PostgresConnector.close(connection)
                throw error
            }
        } catch let error as PostgresSettings.Failure {
            throw error.jobError
        } catch let error as PSQLError {
            throw JobError(.configuration, "cannot open the table output: \(PostgresErrors.describe(error))")
        } catch let error as OutputFile.IOError {
            throw JobError(.configuration, error.description)
        }
    }
}

import Checkpoint
import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO

/// A table as a job's output (``TableDestination``). Lines are kept until a commit; the commit
/// writes them in one transaction: `COPY` into the staging table, the destination's statement,
/// and the job's row in ``ProgressTable`` with the commit point. The database commits before the
/// checkpoint does: a run killed between the two finds the database ahead, and takes its point
/// (``EngineWiring``). No point is made between commits (``pointSpacing``): a row in the table
/// is always a committed one, so an in-place job never reads a token as a value.
///
/// A sync with no point (the commit point is frozen by a transient failure) writes nothing and
/// drops the lines kept: the next run renders them again from the checkpoint.
final class TableOutput: OutputSink {
    private var destination: TableDestination
    private let connection: PostgresConnection
    private let logger: Logger
    private let job: String
    private var kept: [UInt8] = []
    /// The lines' bytes, counted from the commit point the run began at.
    private(set) var offset: Int64
    private var keptFrom: Int64

    var pointSpacing: Int { Int.max }
    /// Rows reach the table only with a commit: no point is stored before one.
    var keepsFlushedLines: Bool { false }

    init(destination: TableDestination, connection: PostgresConnection, job: String, offset: Int64, logger: Logger) throws {
        self.destination = destination
        self.connection = connection
        self.job = job
        self.offset = offset
        keptFrom = offset
        self.logger = logger
        try makeStaging()
    }

    /// The lines written are CSV lines of `columns` (the reader's fields shape) and the bfid, not
    /// JSON objects. Said before the first line is written.
    func stageFields(_ columns: [String]) throws {
        destination.fields = columns + [destination.bfidColumn]
        try makeStaging()
    }

    private func makeStaging() throws {
        do {
            _ = try connection.query(PostgresQuery(unsafeSQL: destination.stagingDefinition), logger: logger).wait()
        } catch let error as PSQLError {
            throw OutputFile.IOError(.system, description: "cannot make the staging table in \(destination.settings.described): \(PostgresErrors.describe(error))")
        }
    }

    deinit { PostgresConnector.close(connection) }

    func write(_ bytes: [UInt8]) throws {
        kept.append(contentsOf: bytes)
        offset += Int64(bytes.count)
    }

    func flush() throws {}

    func sync() throws {
        // No point: nothing may reach the table (see above).
        kept.removeAll(keepingCapacity: true)
        keptFrom = offset
    }

    /// Its transactions run on a thread of their own: the writer stores results meanwhile.
    let commitWorker: (any BlockingWorker)? = WriterThread()

    func sync(committing point: CommitPoint, complete: Bool) throws {
        try commitWork(point, complete: complete)()
    }

    /// Takes the lines through `point` (as rows of COPY's text format) and returns the
    /// transaction that writes them with the job's progress row.
    func commitWork(_ point: CommitPoint, complete: Bool) throws -> @Sendable () throws -> Void {
        let through = Int(point.outputOffset - keptFrom)
        guard through >= 0, through <= kept.count else {
            throw OutputFile.IOError(.system, description: "internal: the table output was asked to commit through \(point.outputOffset), outside \(keptFrom)...\(offset)")
        }
        var copy: [UInt8] = []
        if destination.fields != nil {
            CopyTextRows.appendCSV(kept[..<through], to: &copy)
        } else {
            CopyTextRows.appendJSON(kept[..<through], to: &copy)
        }
        kept.removeFirst(through)
        keptFrom = point.outputOffset
        let rows = ByteBuffer(bytes: copy)
        let (connection, logger, destination, job) = (self.connection, self.logger, self.destination, self.job)
        return {
            do {
                try BlockingAsync.run {
                    try await connection.query("BEGIN", logger: logger)
                    do {
                        if rows.readableBytes > 0 {
                            try await connection.copyFrom(table: destination.stagingTable, columns: [], format: .text(.init()), logger: logger) { writer in
                                try await writer.write(rows)
                            }
                            for setting in destination.applySettings {
                                try await connection.query(PostgresQuery(unsafeSQL: setting), logger: logger)
                            }
                            try await connection.query(PostgresQuery(unsafeSQL: destination.applyStatement), logger: logger)
                        }
                        try await connection.query(ProgressTable.upsert(job: job, relation: destination.name, point: point, complete: complete), logger: logger)
                        try await connection.query("COMMIT", logger: logger)
                    } catch {
                        _ = try? await connection.query("ROLLBACK", logger: logger)
                        throw error
                    }
                }
            } catch let error as PSQLError {
                throw OutputFile.IOError(.system, description: "cannot write to \(destination.name) (\(destination.mode.rawValue)): \(PostgresErrors.describe(error))")
            }
        }
    }
}

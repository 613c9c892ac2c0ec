import CSQLite
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The crash-safe record of one job in SQLite: its identity, every record's result, and the
/// commit point of the ordered output.
///
/// Results are buffered and inserted in batched transactions (by count or age, whichever comes
/// first) through reused prepared statements. The database runs in WAL mode with
/// `synchronous=NORMAL`, so a committed transaction survives a crash of the process; the commit
/// point is written with `synchronous=FULL`, which also makes every earlier transaction durable
/// against power loss. Not `Sendable`: one writer owns it; readers (such as `status`) open the
/// file themselves with ``summary(path:)``.
public final class CheckpointStore {
    public struct Configuration: Sendable {
        /// Insert pending results once this many are waiting. Default 1,000.
        public var batchSize = 1_000
        /// ... or once the oldest has waited this long. Default 100 ms.
        public var batchAge: Duration = .milliseconds(100)

        public init() {}
    }

    public let path: String
    public let identity: JobIdentity
    /// Whether the store was created now (false: an earlier run's checkpoint was reopened).
    public let isNew: Bool
    public private(set) var commitPoint: CommitPoint?
    public private(set) var isComplete: Bool
    private let database: SQLiteDatabase
    private let configuration: Configuration
    private var pending: [RecordResult] = []
    /// Results recorded and not yet in the database (lost if the process dies now).
    public var pendingCount: Int { pending.count }
    /// Held for the store's lifetime: one run per checkpoint at a time.
    private let lockDescriptor: Int32
    private var oldestPending: ContinuousClock.Instant?

    static let schema = """
        CREATE TABLE IF NOT EXISTS job (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            identity TEXT NOT NULL,
            complete INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL
        );
        CREATE TABLE IF NOT EXISTS result (
            seq INTEGER PRIMARY KEY,
            status INTEGER NOT NULL,
            bfid TEXT,
            message_id TEXT,
            tokens TEXT,
            error_code TEXT,
            message TEXT,
            attempts INTEGER NOT NULL,
            updated_at REAL NOT NULL,
            digest BLOB
        );
        CREATE TABLE IF NOT EXISTS file (
            name TEXT PRIMARY KEY,
            device INTEGER NOT NULL,
            inode INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS commit_point (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            seq INTEGER NOT NULL,
            input_offset INTEGER NOT NULL,
            input_line INTEGER NOT NULL,
            output_offset INTEGER NOT NULL,
            rejects_offset INTEGER NOT NULL,
            updated_at REAL NOT NULL
        );
        """

    /// The default checkpoint path for an output file: `<output>.checkpoint.sqlite`.
    public static func defaultPath(forOutput output: String) -> String { output + ".checkpoint.sqlite" }

    /// Opens the checkpoint at `path` for `identity`, creating it if there is none. An existing
    /// checkpoint of another job is refused with every difference spelled out, unless `restart`
    /// discards it.
    public init(path: String, identity: JobIdentity, restart: Bool = false, configuration: Configuration = .init()) throws {
        self.path = path
        self.identity = identity
        self.configuration = configuration
        // The lock first, on a file of its own that is never deleted: --restart beside a live run
        // must not delete the checkpoint under it (two processes would then write one job).
        lockDescriptor = open(path + ".lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard lockDescriptor >= 0, flock(lockDescriptor, LOCK_EX | LOCK_NB) == 0 else {
            if lockDescriptor >= 0 { close(lockDescriptor) }
            throw CheckpointError("another run is using the checkpoint \(path); wait for it to end, or stop it")
        }
        if restart { Self.remove(path: path) }
        do {
            // Whatever fails from here on must not leave the lock held by this process.
            database = try SQLiteDatabase(path: path)
            (isComplete, isNew, commitPoint) = try Self.prepare(database, path: path, identity: identity)
        } catch {
            close(lockDescriptor)
            throw error
        }
    }

    /// Sets the database up and checks (or records) the job it belongs to.
    private static func prepare(_ database: SQLiteDatabase, path: String, identity: JobIdentity) throws -> (complete: Bool, new: Bool, CommitPoint?) {
        guard try database.pragma("journal_mode=WAL")?.lowercased() == "wal" else {
            throw CheckpointError("\(path): SQLite refused WAL journal mode")
        }
        // secure_delete: tokens dropped at a commit are overwritten, not left in free space.
        try database.execute("PRAGMA synchronous=NORMAL; PRAGMA cache_size=-16384; PRAGMA temp_store=MEMORY; PRAGMA secure_delete=ON")
        try database.execute(Self.schema)
        try migrate(database)
        let select = try database.statement("SELECT identity, complete FROM job WHERE id = 1")
        if try select.step(), let text = select.text(0) {
            let stored = try JobIdentity.decoded(text)
            let differences = stored.differences(from: identity)
            guard differences.isEmpty else {
                throw CheckpointError(
                    "the checkpoint \(path) belongs to another job:\n"
                        + differences.map { "  - \($0)" }.joined(separator: "\n")
                        + "\nrun with --restart to discard it and start over, or use --checkpoint to choose another file"
                )
            }
            return (select.int(1) != 0, false, try readCommitPoint(database))
        }
        let insert = try database.statement("INSERT INTO job (id, identity, complete, created_at) VALUES (1, ?, 0, ?)")
        try insert.bind(1, try identity.encoded())
        try insert.bind(2, Date().timeIntervalSince1970)
        try insert.run()
        return (false, true, try readCommitPoint(database))
    }

    /// Columns added since the first checkpoints.
    private static func migrate(_ database: SQLiteDatabase) throws {
        let columns = try database.statement("SELECT name FROM pragma_table_info('result')")
        var names = Set<String>()
        while try columns.step() { if let name = columns.text(0) { names.insert(name) } }
        if !names.contains("digest") { try database.execute("ALTER TABLE result ADD COLUMN digest BLOB") }
    }

    deinit {
        close(lockDescriptor)
    }

    /// Deletes a checkpoint and its WAL and shared-memory files.
    public static func remove(path: String) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            try? FileManager.default.removeItem(atPath: path + suffix)
        }
    }

    // MARK: Results

    /// Buffers a result; it reaches the database with the next batch (or ``commit(_:)``).
    public func record(_ result: RecordResult) throws {
        pending.append(result)
        let now = ContinuousClock.now
        if oldestPending == nil { oldestPending = now }
        if pending.count >= configuration.batchSize || now - oldestPending! >= configuration.batchAge {
            try flush()
        }
    }

    /// Writes every buffered result in one transaction.
    public func flush() throws {
        guard !pending.isEmpty else { return }
        try database.transaction { try insertPending() }
    }

    /// Writes `results` (and any buffered ones) in one transaction, in the order given: a later
    /// result for a seq replaces an earlier one.
    public func write(_ results: [RecordResult]) throws {
        guard !results.isEmpty || !pending.isEmpty else { return }
        try database.transaction {
            try insertPending()
            try insert(results)
        }
    }

    private func insertPending() throws {
        guard !pending.isEmpty else { return }
        // In seq order the B-tree grows at its right edge; a later result for a seq replaces an earlier one.
        pending.sort { $0.seq < $1.seq }
        try insert(pending)
        pending.removeAll(keepingCapacity: true)
        oldestPending = nil
    }

    private func insert(_ results: [RecordResult]) throws {
        guard !results.isEmpty else { return }
        let insert = try database.statement(
            """
            INSERT OR REPLACE INTO result (seq, status, bfid, message_id, tokens, error_code, message, attempts, updated_at, digest)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """
        )
        let now = Date().timeIntervalSince1970
        for result in results {
            try insert.bind(1, result.seq)
            try insert.bind(2, result.status.rawValue)
            try insert.bind(3, result.bfid)
            try insert.bind(4, result.messageId)
            try insert.bind(5, blob: result.encodedTokens)
            try insert.bind(6, result.errorCode)
            try insert.bind(7, result.message)
            try insert.bind(8, result.attempts)
            try insert.bind(9, now)
            try insert.bind(10, blob: result.digest)
            try insert.run()
            insert.resetForReuse()
        }
    }

    /// The stored result of `seq`, buffered or written.
    public func result(seq: Int) throws -> RecordResult? {
        if let buffered = pending.last(where: { $0.seq == seq }) { return buffered }
        let select = try database.statement(
            "SELECT seq, status, bfid, message_id, tokens, error_code, message, attempts, digest FROM result WHERE seq = ?"
        )
        try select.bind(1, seq)
        guard try select.step() else { return nil }
        return Self.result(from: select)
    }

    /// Stored results with `seq` in `range`, by seq (for a resume to reuse answers that came back
    /// out of order before a crash).
    public func results(in range: ClosedRange<Int>) throws -> [Int: RecordResult] {
        let select = try database.statement(
            "SELECT seq, status, bfid, message_id, tokens, error_code, message, attempts, digest FROM result WHERE seq BETWEEN ? AND ?"
        )
        try select.bind(1, range.lowerBound)
        try select.bind(2, range.upperBound)
        var found: [Int: RecordResult] = [:]
        while try select.step() {
            let result = Self.result(from: select)
            found[result.seq] = result
        }
        for result in pending where range.contains(result.seq) { found[result.seq] = result }
        return found
    }

    /// A BLOB is this version's encoding; text is an older checkpoint's.
    static func tokens(in row: SQLiteStatement, column: Int32) -> [String] {
        if row.isBlob(column) { return row.blob(column).flatMap(RecordResult.decodeTokens) ?? [] }
        return RecordResult.decodeLegacyTokens(row.text(column))
    }

    static func result(from row: SQLiteStatement) -> RecordResult {
        RecordResult(
            seq: row.int(0), status: RecordResult.Status(rawValue: row.int(1)) ?? .outcomeUnknown, bfid: row.text(2),
            messageId: row.text(3), tokens: tokens(in: row, column: 4), errorCode: row.text(5),
            message: row.text(6), attempts: row.int(7), digest: row.blob(8)
        )
    }

    // MARK: Files

    /// The identity recorded for one of the job's files (`output`, `rejects`), if any.
    public func fileIdentity(_ name: String) throws -> FileIdentity? {
        let select = try database.statement("SELECT device, inode FROM file WHERE name = ?")
        try select.bind(1, name)
        guard try select.step() else { return nil }
        return FileIdentity(device: UInt64(bitPattern: select.int64(0)), inode: UInt64(bitPattern: select.int64(1)))
    }

    /// Records the identity of a file the job created (durably, before the first commit needs it).
    public func setFileIdentity(_ name: String, _ identity: FileIdentity) throws {
        let upsert = try database.statement("INSERT OR REPLACE INTO file (name, device, inode) VALUES (?, ?, ?)")
        try upsert.bind(1, name)
        try upsert.bind(2, Int64(bitPattern: identity.device))
        try upsert.bind(3, Int64(bitPattern: identity.inode))
        try upsert.run()
    }

    // MARK: Commit point

    /// Records a commit point together with every buffered result, durably (synchronous=FULL).
    /// Call it only after the output and rejects files are fsynced up to the point's offsets.
    public func commit(_ point: CommitPoint, complete: Bool = false) throws {
        try database.execute("PRAGMA synchronous=FULL")
        defer { try? database.execute("PRAGMA synchronous=NORMAL") }
        try database.transaction {
            try insertPending()
            let upsert = try database.statement(
                """
                INSERT OR REPLACE INTO commit_point (id, seq, input_offset, input_line, output_offset, rejects_offset, updated_at)
                VALUES (1, ?, ?, ?, ?, ?, ?)
                """
            )
            try upsert.bind(1, point.seq)
            try upsert.bind(2, point.inputOffset)
            try upsert.bind(3, point.inputLine)
            try upsert.bind(4, point.outputOffset)
            try upsert.bind(5, point.rejectsOffset)
            try upsert.bind(6, Date().timeIntervalSince1970)
            try upsert.run()
            // Tokens are needed only until their output line is durable, which it now is: the
            // records this commit covers keep their bfid and messageId (the audit trail), not
            // their tokens (a CVV's token is sensitive authentication data in another form).
            let drop = try database.statement("UPDATE result SET tokens = NULL WHERE seq > ? AND seq <= ? AND tokens IS NOT NULL")
            try drop.bind(1, commitPoint?.seq ?? -1)
            try drop.bind(2, point.seq)
            try drop.run()
            if complete {
                try database.statement("UPDATE job SET complete = 1 WHERE id = 1").run()
            }
        }
        commitPoint = point
        if complete {
            isComplete = true
            // Nothing of the dropped tokens stays in the write-ahead log either.
            try database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        }
    }

    static func readCommitPoint(_ database: SQLiteDatabase) throws -> CommitPoint? {
        let select = try database.statement(
            "SELECT seq, input_offset, input_line, output_offset, rejects_offset FROM commit_point WHERE id = 1"
        )
        guard try select.step() else { return nil }
        return CommitPoint(
            seq: select.int(0), inputOffset: select.int64(1), inputLine: select.int(2), outputOffset: select.int64(3),
            rejectsOffset: select.int64(4)
        )
    }
}

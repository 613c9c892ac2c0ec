import CSQLite
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The crash-safe record of one job in SQLite: its identity, every record's result, and the
/// commit point of the ordered output.
///
/// Results are buffered and stored in batched transactions (by count or age, whichever comes
/// first), each batch as one row (a ``ResultBlock``): a later result for a seq replaces an earlier
/// one. Each commit folds the outcomes of the records it covers into a tally (for `status`) and
/// drops their tokens. The database runs in WAL mode with
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
    /// Where the output and rejects files ended (handed to the kernel, not synced) when the last
    /// batch of results was stored, if that is past the commit point: the results of the records
    /// up to it were stored without their tokens (see ``write(_:writtenThrough:)``).
    public private(set) var writtenPoint: CommitPoint?
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
        CREATE TABLE IF NOT EXISTS result_block (
            id INTEGER PRIMARY KEY,
            first_seq INTEGER NOT NULL,
            last_seq INTEGER NOT NULL,
            count INTEGER NOT NULL,
            updated_at REAL NOT NULL,
            results BLOB NOT NULL
        );
        CREATE INDEX IF NOT EXISTS result_block_last_seq ON result_block (last_seq);
        CREATE TABLE IF NOT EXISTS result_tokens (
            block_id INTEGER PRIMARY KEY,
            tokens BLOB NOT NULL
        );
        CREATE TABLE IF NOT EXISTS tally (
            status INTEGER NOT NULL,
            error_code TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (status, error_code)
        );
        CREATE TABLE IF NOT EXISTS file (
            name TEXT PRIMARY KEY,
            device INTEGER NOT NULL,
            inode INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS file_path (
            name TEXT PRIMARY KEY,
            path TEXT NOT NULL
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
        CREATE TABLE IF NOT EXISTS written_point (
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
            writtenPoint = try Self.readPoint(database, table: "written_point").flatMap { $0.seq > commitPoint?.seq ?? -1 ? $0 : nil }
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
            let point = try readCommitPoint(database)
            try migrateLegacyResults(database, committedThrough: point?.seq ?? -1)
            return (select.int(1) != 0, false, point)
        }
        let insert = try database.statement("INSERT INTO job (id, identity, complete, created_at) VALUES (1, ?, 0, ?)")
        try insert.bind(1, try identity.encoded())
        try insert.bind(2, Date().timeIntervalSince1970)
        try insert.run()
        return (false, true, try readCommitPoint(database))
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
    ///
    /// With `writtenThrough` (the output and rejects files' ends, handed to the kernel before this
    /// call, and the last record whose line they hold): the results of records up to it are stored
    /// without their tokens, and the point is stored with them. A process killed after this keeps
    /// those lines in the files (a kill does not lose what the kernel has), so the next run takes
    /// up from that point (``writtenPoint``) and never needs the tokens; a machine that lost its
    /// power may lose both, and then those records are sent again, as with results lost from an
    /// unsynced transaction. Most tokens never reach the database this way.
    public func write(_ results: [RecordResult], writtenThrough: CommitPoint? = nil) throws {
        // A point not past the commit point says nothing the commit point does not.
        let advanced = writtenThrough.flatMap { $0.seq > commitPoint?.seq ?? -1 ? $0 : nil }
        guard !results.isEmpty || !pending.isEmpty || advanced != nil else { return }
        try database.transaction {
            try insertPending()
            if !results.isEmpty {
                try Self.insert(ResultBlock(encoding: results, tokensWrittenThrough: writtenThrough?.seq ?? -1), into: database)
            }
            if let advanced { try Self.upsert(advanced, into: "written_point", database: database) }
        }
        if let advanced { writtenPoint = advanced }
    }

    private func insertPending() throws {
        guard !pending.isEmpty else { return }
        try insert(pending)
        pending.removeAll(keepingCapacity: true)
        oldestPending = nil
    }

    private func insert(_ results: [RecordResult]) throws {
        guard !results.isEmpty else { return }
        try Self.insert(ResultBlock(encoding: results), into: database)
    }

    static func insert(_ block: ResultBlock, into database: SQLiteDatabase) throws {
        let insert = try database.statement(
            "INSERT INTO result_block (first_seq, last_seq, count, updated_at, results) VALUES (?, ?, ?, ?, ?)"
        )
        try insert.bind(1, block.firstSeq)
        try insert.bind(2, block.lastSeq)
        try insert.bind(3, block.count)
        try insert.bind(4, Date().timeIntervalSince1970)
        try insert.bind(5, blob: block.results)
        try insert.run()
        // The tokens in a row of their own: dropping them at a commit then deletes that row, and
        // does not rewrite the block's results (an UPDATE rewrites the whole row, overflow pages
        // and all).
        guard let tokens = block.tokens else { return }
        let id = database.lastInsertRowID
        let insertTokens = try database.statement("INSERT INTO result_tokens (block_id, tokens) VALUES (?, ?)")
        try insertTokens.bind(1, id)
        try insertTokens.bind(2, blob: tokens)
        try insertTokens.run()
    }

    /// The stored result of `seq`, buffered or written.
    public func result(seq: Int) throws -> RecordResult? {
        if let buffered = pending.last(where: { $0.seq == seq }) { return buffered }
        return try Self.storedResults(in: seq...seq, database: database)[seq]
    }

    /// Stored results with `seq` in `range`, by seq (for a resume to reuse answers that came back
    /// out of order before a crash).
    public func results(in range: ClosedRange<Int>) throws -> [Int: RecordResult] {
        var found = try Self.storedResults(in: range, database: database)
        for result in pending where range.contains(result.seq) { found[result.seq] = result }
        return found
    }

    /// Blocks by the index on `last_seq`: without it (and without statistics) SQLite scans the
    /// whole table to give the rows in `id` order, and every commit and resume read cost time in
    /// proportion to the job's size (a 5,000,000-record run took 40% more CPU per record than a
    /// 1,000,000-record one). Tested with `EXPLAIN QUERY PLAN`.
    static let overlappingBlocksSQL = """
        SELECT b.id, b.first_seq, b.last_seq, b.count, b.results, t.tokens FROM result_block b INDEXED BY result_block_last_seq
        LEFT JOIN result_tokens t ON t.block_id = b.id
        WHERE b.last_seq >= ? AND b.first_seq <= ? ORDER BY b.id
        """
    static let settledOutcomesSQL = """
        SELECT results, last_seq > ? FROM result_block INDEXED BY result_block_last_seq
        WHERE last_seq >= ? AND first_seq <= ? ORDER BY id
        """
    static let droppedTokensSQL = """
        DELETE FROM result_tokens WHERE block_id IN (
            SELECT id FROM result_block INDEXED BY result_block_last_seq WHERE last_seq >= ? AND last_seq <= ?
        )
        """

    /// The blocks that hold results in `range`, in the order they were written, with their rowid.
    static func blocks(overlapping range: ClosedRange<Int>, database: SQLiteDatabase) throws -> [(id: Int, block: ResultBlock)] {
        let select = try database.statement(overlappingBlocksSQL)
        try select.bind(1, range.lowerBound)
        try select.bind(2, range.upperBound)
        var blocks: [(id: Int, block: ResultBlock)] = []
        while try select.step() {
            let block = ResultBlock(
                results: select.blob(4) ?? [], tokens: select.isNull(5) ? nil : select.blob(5), firstSeq: select.int(1),
                lastSeq: select.int(2), count: select.int(3)
            )
            blocks.append((select.int(0), block))
        }
        return blocks
    }

    /// The latest stored result of every seq in `range`. A damaged block holds no result: its
    /// records are sent again.
    static func storedResults(in range: ClosedRange<Int>, database: SQLiteDatabase) throws -> [Int: RecordResult] {
        var found: [Int: RecordResult] = [:]
        for (_, block) in try blocks(overlapping: range, database: database) {
            for result in block.decoded() ?? [] where range.contains(result.seq) { found[result.seq] = result }
        }
        return found
    }

    // MARK: Files

    /// The identity recorded for one of the job's files (`output`, `rejects`), if any.
    public func fileIdentity(_ name: String) throws -> FileIdentity? {
        let select = try database.statement("SELECT device, inode FROM file WHERE name = ?")
        try select.bind(1, name)
        guard try select.step() else { return nil }
        return FileIdentity(device: UInt64(bitPattern: select.int64(0)), inode: UInt64(bitPattern: select.int64(1)))
    }

    /// Records the identity of a file the job created (durably, before the first commit needs it),
    /// and where it is (an absolute path), so that `merge` finds a shard's files wherever its
    /// options put them.
    public func setFileIdentity(_ name: String, _ identity: FileIdentity, path: String? = nil) throws {
        let upsert = try database.statement("INSERT OR REPLACE INTO file (name, device, inode) VALUES (?, ?, ?)")
        try upsert.bind(1, name)
        try upsert.bind(2, Int64(bitPattern: identity.device))
        try upsert.bind(3, Int64(bitPattern: identity.inode))
        try upsert.run()
        if let path {
            let place = try database.statement("INSERT OR REPLACE INTO file_path (name, path) VALUES (?, ?)")
            try place.bind(1, name)
            try place.bind(2, path)
            try place.run()
        }
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
            try settle(through: point.seq, after: commitPoint?.seq ?? -1)
            if complete {
                try database.statement("UPDATE job SET complete = 1 WHERE id = 1").run()
            }
        }
        commitPoint = point
        if let written = writtenPoint, written.seq <= point.seq { writtenPoint = nil }
        if complete {
            isComplete = true
            // Nothing of the dropped tokens stays in the write-ahead log either.
            try database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        }
    }

    /// For the records a commit covers (after `previous`, through `seq`): their outcomes go into
    /// the tally and their tokens are dropped. Tokens are needed only until their output line is
    /// durable, which it now is: the records keep their bfid and messageId (the audit trail), not
    /// their tokens (a CVV's token is sensitive authentication data in another form).
    private func settle(through seq: Int, after previous: Int) throws {
        guard seq > previous else { return }
        // The latest status of each record the commit covers (0: none stored), by seq - first.
        let first = previous + 1
        var statuses = [UInt8](repeating: 0, count: seq - previous)
        // Each record's error code, as an index into `errorCodes` (-1: none): an array, not a
        // dictionary by seq that every record without one had to be removed from.
        var codeIndex = [Int32](repeating: -1, count: seq - previous)
        var errorCodes: [ArraySlice<UInt8>] = []
        // The outcomes, from the results alone (the tokens are not read for this).
        let select = try database.statement(
            Self.settledOutcomesSQL
        )
        try select.bind(1, seq)
        try select.bind(2, first)
        try select.bind(3, seq)
        var straddling = false
        while try select.step() {
            let block = ResultBlock(results: select.blob(0) ?? [], tokens: nil, firstSeq: 0, lastSeq: 0, count: 0)
            _ = block.forEachOutcome { resultSeq, status, errorCode in
                guard resultSeq >= first && resultSeq <= seq else { return }
                statuses[resultSeq - first] = status
                if let errorCode {
                    codeIndex[resultSeq - first] = Int32(errorCodes.count)
                    errorCodes.append(errorCode)
                } else {
                    codeIndex[resultSeq - first] = -1
                }
            }
            straddling = straddling || select.int(1) != 0
        }
        // Blocks that end within the commit lose all their tokens at once...
        let drop = try database.statement(Self.droppedTokensSQL)
        try drop.bind(1, first)
        try drop.bind(2, seq)
        try drop.run()
        // ... and a block that also holds records after it keeps only theirs.
        if straddling {
            let update = try database.statement("UPDATE result_tokens SET tokens = ? WHERE block_id = ?")
            let delete = try database.statement("DELETE FROM result_tokens WHERE block_id = ?")
            for (id, block) in try Self.blocks(overlapping: seq...seq, database: database) where block.tokens != nil && block.lastSeq > seq {
                guard case .some(let keptTokens) = block.tokens(keepingAfter: seq) else { continue }
                if let kept = keptTokens {
                    try update.bind(1, blob: kept)
                    try update.bind(2, id)
                    try update.run()
                    update.resetForReuse()
                } else {
                    try delete.bind(1, id)
                    try delete.run()
                    delete.resetForReuse()
                }
            }
        }
        // Records without an error code (nearly all) counted by status in an array; the others
        // by status and code.
        var plain = [Int](repeating: 0, count: 256)
        var counts: [Tally: Int] = [:]
        for (offset, status) in statuses.enumerated() where status != 0 {
            let index = Int(codeIndex[offset])
            if index < 0 {
                plain[Int(status)] += 1
            } else {
                counts[Tally(status: Int(status), errorCode: String(decoding: errorCodes[index], as: UTF8.self)), default: 0] += 1
            }
        }
        for (status, count) in plain.enumerated() where count > 0 {
            counts[Tally(status: status, errorCode: ""), default: 0] += count
        }
        try Self.add(counts, to: database)
    }

    /// A line of the tally: records committed with one status and error code.
    struct Tally: Hashable {
        var status: Int
        var errorCode: String

        init(status: Int, errorCode: String) {
            self.status = status
            self.errorCode = errorCode
        }

        init(_ result: RecordResult) {
            status = result.status.rawValue
            errorCode = result.errorCode ?? ""
        }
    }

    static func add(_ counts: [Tally: Int], to database: SQLiteDatabase) throws {
        let upsert = try database.statement(
            "INSERT INTO tally (status, error_code, count) VALUES (?, ?, ?) ON CONFLICT (status, error_code) DO UPDATE SET count = count + excluded.count"
        )
        for (tally, count) in counts {
            try upsert.bind(1, tally.status)
            try upsert.bind(2, tally.errorCode)
            try upsert.bind(3, count)
            try upsert.run()
            upsert.resetForReuse()
        }
    }

    static func readCommitPoint(_ database: SQLiteDatabase) throws -> CommitPoint? {
        try readPoint(database, table: "commit_point")
    }

    /// Writes `point` as the one row of `table` (`commit_point` or `written_point`).
    static func upsert(_ point: CommitPoint, into table: String, database: SQLiteDatabase) throws {
        let upsert = try database.statement(
            "INSERT OR REPLACE INTO \(table) (id, seq, input_offset, input_line, output_offset, rejects_offset, updated_at) VALUES (1, ?, ?, ?, ?, ?, ?)"
        )
        try upsert.bind(1, point.seq)
        try upsert.bind(2, point.inputOffset)
        try upsert.bind(3, point.inputLine)
        try upsert.bind(4, point.outputOffset)
        try upsert.bind(5, point.rejectsOffset)
        try upsert.bind(6, Date().timeIntervalSince1970)
        try upsert.run()
    }

    static func readPoint(_ database: SQLiteDatabase, table: String) throws -> CommitPoint? {
        let select = try database.statement(
            "SELECT seq, input_offset, input_line, output_offset, rejects_offset FROM \(table) WHERE id = 1"
        )
        guard try select.step() else { return nil }
        return CommitPoint(
            seq: select.int(0), inputOffset: select.int64(1), inputLine: select.int(2), outputOffset: select.int64(3),
            rejectsOffset: select.int64(4)
        )
    }
}

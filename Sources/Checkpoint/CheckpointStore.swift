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
        /// Keep every committed record's result (status, error code, bfid, messageId; never its
        /// tokens) as an audit trail. Off by default: a commit folds the records it covers into
        /// the tally and deletes their results, so that the checkpoint stays as small as the
        /// records in flight (the output carries the bfids, the rejects file the refusals).
        public var keepsAuditTrail = false
        /// A deduplicating job's (`--dedup`): each done result's tokens and bfid are also kept
        /// by its record's keyed digest (``CheckpointReader/remembered(_:)``), for the job's
        /// lifetime, so that a later record with the same values (in this run or a resumed one)
        /// takes them instead of a request. Tokens, never values; the digest is keyed.
        public var remembersValues = false

        public init() {}
    }

    public let path: String
    public let identity: JobIdentity
    /// Whether the store was created now (false: an earlier run's checkpoint was reopened).
    public let isNew: Bool
    public internal(set) var commitPoint: CommitPoint?
    /// Where the output and rejects files ended (handed to the kernel, not synced) when the last
    /// batch of results was stored, if that is past the commit point: the results of the records
    /// up to it were stored without their tokens (see ``write(_:writtenThrough:)``).
    public internal(set) var writtenPoint: CommitPoint?
    public internal(set) var isComplete: Bool
    let database: SQLiteDatabase
    let configuration: Configuration
    /// Held for the store's lifetime: one run per checkpoint at a time.
    private let lockDescriptor: Int32

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
            throw CheckpointError(.inUse, "another run is using the checkpoint \(path); wait for it to end, or stop it")
        }
        if restart { Self.remove(path: path) }
        do {
            // Whatever fails from here on must not leave the lock held by this process.
            database = try SQLiteDatabase(path: path)
            (isComplete, isNew, commitPoint) = try Self.prepare(database, path: path, identity: identity)
            // A deduplicating job's kept answers are a B-tree of random keys, as large as the
            // job's distinct records: its pages would fill any cache. A smaller one bounds the
            // memory (pages missed come from the kernel's cache).
            if configuration.remembersValues { try database.execute("PRAGMA cache_size=-4096") }
            writtenPoint = try Self.readPoint(database, table: "written_point").flatMap { $0.seq > commitPoint?.seq ?? -1 ? $0 : nil }
        } catch {
            close(lockDescriptor)
            throw error
        }
    }

    /// Sets the database up and checks (or records) the job it belongs to.
    private static func prepare(_ database: SQLiteDatabase, path: String, identity: JobIdentity) throws -> (complete: Bool, new: Bool, CommitPoint?) {
        guard try database.pragma("journal_mode=WAL")?.lowercased() == "wal" else {
            throw CheckpointError(.storage, "\(path): SQLite refused WAL journal mode")
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
                    .otherJob,
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

    /// Writes `results` in one transaction, in the order given: a later result for a seq
    /// replaces an earlier one. The one write path: the engine's checkpoint stage calls it from
    /// the writer thread that owns the store.
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
        guard !results.isEmpty || advanced != nil else { return }
        try database.transaction {
            if !results.isEmpty {
                try Self.insert(ResultBlock(encoding: results, tokensWrittenThrough: writtenThrough?.seq ?? -1), into: database)
                if configuration.remembersValues { try remember(results) }
            }
            if let advanced { try Self.upsert(advanced, into: "written_point", database: database) }
        }
        if let advanced { writtenPoint = advanced }
    }

    /// Keeps the tokens of each done result by its digest (the first kept for a digest stays).
    private func remember(_ results: [RecordResult]) throws {
        var digest: [UInt8] = []
        // (Only answers a request got: a record that took an earlier record's answer has
        // attempts 0, and its digest is that record's, already kept.)
        for result in results where result.status == .done && result.attempts > 0 && result.texts.hasBfid && result.texts.valueCount > 0 {
            guard let recordDigest = result.recordDigest else { continue }
            digest.removeAll(keepingCapacity: true)
            recordDigest.append(to: &digest)
            let insert = try database.statement("INSERT OR IGNORE INTO remembered_value (digest, texts) VALUES (?, ?)")
            try insert.bind(1, blob: digest)
            try insert.bind(2, blob: result.texts.bytes)
            try insert.run()
        }
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

    /// The stored result of `seq`.
    public func result(seq: Int) throws -> RecordResult? {
        try Self.storedResults(in: seq...seq, database: database)[seq]
    }

    /// Stored results with `seq` in `range`, by seq. (A run reads those of earlier runs through a
    /// ``CheckpointReader`` of its own, beside the writer.)
    public func results(in range: ClosedRange<Int>) throws -> [Int: RecordResult] {
        try Self.storedResults(in: range, database: database)
    }

    /// Blocks by the index on `last_seq`: without it (and without statistics) SQLite scans the
    /// whole table to give the rows in `id` order, and every commit and resume read would cost
    /// time in proportion to the job's size. Tested with `EXPLAIN QUERY PLAN`.
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

    static let committedTokensSQL = """
        DELETE FROM result_tokens WHERE block_id IN (SELECT id FROM result_block INDEXED BY result_block_last_seq WHERE last_seq <= ?)
        """
    static let committedBlocksSQL = "DELETE FROM result_block WHERE last_seq <= ?"

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

    /// The definition of a table input as the job's first run found it (its columns and their
    /// types, in order): a resume over a table altered since is refused.
    public func inputDefinition(_ name: String) throws -> String? {
        let select = try database.statement("SELECT definition FROM input_definition WHERE name = ?")
        try select.bind(1, name)
        guard try select.step() else { return nil }
        return select.text(0)
    }

    public func setInputDefinition(_ name: String, _ definition: String) throws {
        let upsert = try database.statement("INSERT OR REPLACE INTO input_definition (name, definition) VALUES (?, ?)")
        try upsert.bind(1, name)
        try upsert.bind(2, definition)
        try upsert.run()
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
}

import CSQLite

#if canImport(Glibc)
import Glibc
#endif

/// One SQLite connection. Not `Sendable`: it belongs to one owner; other processes or tasks open
/// their own connection to the same file (WAL mode lets readers run beside the writer).
public final class SQLiteDatabase {
    let handle: OpaquePointer
    private var statements: [String: SQLiteStatement] = [:]
    public let path: String

    public enum Mode: Sendable {
        case readWrite
        case readOnly
    }

    /// Opens (and for `.readWrite` creates, with mode 0600) the database at `path`.
    public init(path: String, mode: Mode = .readWrite) throws {
        self.path = path
        if mode == .readWrite {
            // Create the file ourselves so that it starts private; SQLite gives its -wal and
            // -shm files the same permissions as the database file.
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else {
                throw SQLiteError(code: SQLITE_CANTOPEN, message: String(cString: strerror(errno)), context: "creating \(path)")
            }
            close(fd)
        }
        var db: OpaquePointer?
        let flags = (mode == .readWrite ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY) | SQLITE_OPEN_NOMUTEX
        let status = sqlite3_open_v2(path, &db, flags, nil)
        guard status == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close_v2(db)
            throw SQLiteError(code: status, message: message, context: "opening \(path)")
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, 5_000)
        _ = csqlite_enable_defensive(db)
    }

    deinit {
        statements.removeAll()  // finalise before closing
        sqlite3_close_v2(handle)
    }

    func error(_ code: Int32, _ context: String) -> SQLiteError {
        SQLiteError(code: sqlite3_extended_errcode(handle), message: String(cString: sqlite3_errmsg(handle)), context: context)
    }

    /// Runs one or more statements without parameters or results.
    public func execute(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        let status = sqlite3_exec(handle, sql, nil, nil, &message)
        guard status == SQLITE_OK else {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(message)
            throw SQLiteError(code: sqlite3_extended_errcode(handle), message: text, context: "executing \(sql.prefix(60))")
        }
    }

    /// A prepared statement, cached by its SQL and reused.
    public func statement(_ sql: String) throws -> SQLiteStatement {
        if let cached = statements[sql] {
            cached.reset()
            return cached
        }
        let statement = try SQLiteStatement(database: self, sql: sql, persistent: true)
        statements[sql] = statement
        return statement
    }

    /// Runs `body` in one `BEGIN IMMEDIATE` transaction; rolls back and rethrows on error.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        resetStatements()
        // Prepared once and reused: a transaction per batch of results, parsing these each time
        // showed in the profile.
        try statement("BEGIN IMMEDIATE").run()
        do {
            let result = try body()
            // A cached SELECT left mid-way would hold the transaction open.
            resetStatements()
            try statement("COMMIT").run()
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// The value of a `PRAGMA` that returns one text row.
    public func pragma(_ text: String) throws -> String? {
        let statement = try self.statement("PRAGMA \(text)")
        defer { statement.resetForReuse() }
        guard try statement.step() else { return nil }
        return statement.text(0)
    }

    /// Resets every cached statement (ends any read left mid-way).
    public func resetStatements() {
        for statement in statements.values { statement.resetForReuse() }
    }

    public var changes: Int { Int(sqlite3_changes(handle)) }

    /// The rowid of the last row inserted through this connection.
    public var lastInsertRowID: Int { Int(sqlite3_last_insert_rowid(handle)) }
}

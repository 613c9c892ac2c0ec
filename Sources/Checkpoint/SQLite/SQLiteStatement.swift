import CSQLite

/// A prepared statement with typed bind and column helpers. Finalised in `deinit`.
public final class SQLiteStatement {
    private let pointer: OpaquePointer
    private unowned let database: SQLiteDatabase
    private let sql: String

    init(database: SQLiteDatabase, sql: String, persistent: Bool) throws {
        var statement: OpaquePointer?
        let flags: UInt32 = persistent ? UInt32(SQLITE_PREPARE_PERSISTENT) : 0
        let status = sqlite3_prepare_v3(database.handle, sql, -1, flags, &statement, nil)
        guard status == SQLITE_OK, let statement else {
            throw database.error(status, "preparing \(sql.prefix(60))")
        }
        self.pointer = statement
        self.database = database
        self.sql = sql
    }

    deinit { sqlite3_finalize(pointer) }

    func reset() {
        sqlite3_reset(pointer)
        sqlite3_clear_bindings(pointer)
    }

    /// Resets after a run so that the statement can be bound and run again.
    public func resetForReuse() {
        sqlite3_reset(pointer)
    }

    // MARK: Binding (1-based indices, as SQLite counts them)

    public func bind(_ index: Int32, _ value: Int64?) throws {
        let status = value.map { sqlite3_bind_int64(pointer, index, $0) } ?? sqlite3_bind_null(pointer, index)
        try check(status, "binding parameter \(index)")
    }

    public func bind(_ index: Int32, _ value: Int?) throws {
        try bind(index, value.map(Int64.init))
    }

    public func bind(_ index: Int32, _ value: Double?) throws {
        let status = value.map { sqlite3_bind_double(pointer, index, $0) } ?? sqlite3_bind_null(pointer, index)
        try check(status, "binding parameter \(index)")
    }

    public func bind(_ index: Int32, _ value: String?) throws {
        let status: Int32
        if var value {
            status = value.withUTF8 { bytes in
                bytes.withMemoryRebound(to: CChar.self) {
                    sqlite3_bind_text(pointer, index, $0.baseAddress, Int32($0.count), csqlite_transient())
                }
            }
        } else {
            status = sqlite3_bind_null(pointer, index)
        }
        try check(status, "binding parameter \(index)")
    }

    public func bind(_ index: Int32, blob value: [UInt8]?) throws {
        let status: Int32
        if let value {
            status = value.withUnsafeBytes { bytes in
                sqlite3_bind_blob(pointer, index, bytes.baseAddress, Int32(bytes.count), csqlite_transient())
            }
        } else {
            status = sqlite3_bind_null(pointer, index)
        }
        try check(status, "binding parameter \(index)")
    }

    // MARK: Stepping

    /// Steps once: `true` when a row is available, `false` when done.
    @discardableResult
    public func step() throws -> Bool {
        let status = sqlite3_step(pointer)
        switch status {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw database.error(status, "running \(sql.prefix(60))")
        }
    }

    /// Runs a statement that returns no rows.
    public func run() throws {
        while try step() {}
    }

    // MARK: Columns (0-based)

    public func isNull(_ column: Int32) -> Bool { sqlite3_column_type(pointer, column) == SQLITE_NULL }

    public func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(pointer, column) }

    public func int(_ column: Int32) -> Int { Int(sqlite3_column_int64(pointer, column)) }

    public func optionalInt(_ column: Int32) -> Int? { isNull(column) ? nil : int(column) }

    public func double(_ column: Int32) -> Double { sqlite3_column_double(pointer, column) }

    /// The column as text, all of its bytes (a NUL inside does not cut it short).
    public func text(_ column: Int32) -> String? {
        guard let bytes = sqlite3_column_text(pointer, column) else { return nil }
        let count = Int(sqlite3_column_bytes(pointer, column))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    /// Whether the column holds a BLOB (as opposed to text, a number or NULL).
    public func isBlob(_ column: Int32) -> Bool { sqlite3_column_type(pointer, column) == SQLITE_BLOB }

    /// The column's bytes (a BLOB, or the text's UTF-8); `nil` for NULL.
    public func blob(_ column: Int32) -> [UInt8]? {
        guard !isNull(column) else { return nil }
        let count = Int(sqlite3_column_bytes(pointer, column))
        guard count > 0, let bytes = sqlite3_column_blob(pointer, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: bytes, count: count))
    }

    /// The context is only built on failure: binding is on the hot path.
    @inline(__always)
    private func check(_ status: Int32, _ context: @autoclosure () -> String) throws {
        guard status == SQLITE_OK else { throw database.error(status, context()) }
    }
}

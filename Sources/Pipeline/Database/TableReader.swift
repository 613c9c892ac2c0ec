import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO

/// Reads a table's rows in the order of its key, a page at a time (`WHERE key > $last ORDER BY
/// key LIMIT n`: each page an index range scan, whatever the table's size, and rows inserted or
/// deleted behind the reader change nothing ahead of it), each row as a JSON object
/// (`row_to_json`: its columns by name, `json`/`jsonb` columns nested), so that a table maps as an
/// NDJSON file does (`key` instructions by column name, `jsonpath` into JSON columns). Blocking:
/// run it on a thread of its own (``PrefetchingSource``), never on an event loop.
///
/// A record's position is its ordinal among the rows read (`offset` and `seq` alike); the key of
/// each row is kept (``TableKeyMarks``) so that a commit point can store where to read on from.
final class TableReader: PagedRecordReader, @unchecked Sendable {
    let input: TableInput
    let relation: TableRelation
    private var connection: PostgresConnection
    private let logger: Logger
    private let pageSize: Int
    private var page: [InputRecord] = []
    private var keys: [String] = []
    private var index = 0
    private var lastKey: String?
    private var ended = false
    let marks = TableKeyMarks()
    private(set) var nextPosition: RecordPosition

    /// Opens `input` (its connection checked: the key unique and not null) to read the rows
    /// after `key` (all, with `nil`), numbered from `position`.
    /// The columns read (with the key); `nil`: every one.
    private let columns: [String]?

    /// The last key read (a shard's range ends there); `nil`: the table's end.
    private let throughKey: String?

    /// How a row becomes a record.
    enum Shape: Sendable, Equatable {
        /// A JSON object (`row_to_json`): columns by name, `json`/`jsonb` columns nested; what a
        /// file output holds and a `jsonpath` reaches into.
        case json
        /// A CSV line of the named columns as text, the key first (``fieldColumns``): a NULL an
        /// empty field, an empty string `""` (COPY's CSV convention). No JSON is made or parsed
        /// on either side: what a table output of `key` mappings over text columns reads.
        case fields
    }

    /// Set before the first row is read.
    var shape = Shape.json

    /// The columns of the fields shape, in their order: the key, then each column read once.
    var fieldColumns: [String] {
        var names = [relation.key]
        for column in columns ?? [] where !names.contains(column) { names.append(column) }
        return names
    }

    init(
        input: TableInput, after key: String?, through: String? = nil, from position: RecordPosition?, columns: [String]? = nil, pageSize: Int = 2_000,
        logger: Logger
    ) throws {
        self.input = input
        throughKey = through
        self.columns = columns
        self.logger = logger
        self.pageSize = pageSize
        connection = try PostgresConnector.connect(input.settings, logger: logger)
        do {
            relation = try TableRelation.inspect(input, on: connection, logger: logger)
        } catch {
            PostgresConnector.close(connection)
            throw error
        }
        lastKey = key
        nextPosition = position ?? RecordPosition(seq: 0, offset: 0, line: 1)
    }

    deinit { closeConnection() }

    private var closed = false

    /// Closes the connection once (at the end of the rows, or when the reader goes).
    private func closeConnection() {
        guard !closed else { return }
        closed = true
        PostgresConnector.close(connection)
    }

    func next() throws -> InputRecord? {
        guard try pageReady() else { return nil }
        let record = page[index]
        let key = keys[index]
        index += 1
        let after = nextPosition.offset + 1
        nextPosition = RecordPosition(seq: nextPosition.seq + 1, offset: after, line: nextPosition.line + 1)
        marks.add(after: after, key: key)
        return record
    }

    /// The rest of the page read last, or the next page: handed over at once, its keys marked
    /// under one lock.
    func nextPage(into records: inout [(record: InputRecord, after: RecordPosition)]) throws -> Bool {
        guard try pageReady() else { return false }
        let count = page.count - index
        records.reserveCapacity(records.count + count)
        var position = nextPosition
        for record in page[index...] {
            position = RecordPosition(seq: position.seq + 1, offset: position.offset + 1, line: position.line + 1)
            records.append((record, position))
        }
        marks.add(after: nextPosition.offset + 1, keys: keys[index...])
        nextPosition = position
        index = page.count
        if ended { closeConnection() }
        return !ended
    }

    /// Whether a row is there to take: the page read last has one left, or the next page is
    /// read (`false`: the rows have ended, and the connection is closed).
    private func pageReady() throws -> Bool {
        if index < page.count { return true }
        if !ended { try fetch() }
        guard index < page.count else {
            closeConnection()
            return false
        }
        return true
    }

    func stopDigesting() { marks.stop() }

    /// The table's columns and their types.
    func columnTypes() throws -> [String: String] {
        do {
            return try TableDestination.columnTypes(of: relation.name, on: connection, logger: logger)
        } catch let error as PSQLError {
            throw PostgresSettings.Failure("cannot look up the columns of \(relation.name): \(PostgresErrors.describe(error))")
        }
    }

    /// How many rows have a key at or below `key` now.
    func count(through key: String) throws -> Int {
        var query = PostgresQuery(
            unsafeSQL: "SELECT count(*) FROM \(relation.name) t WHERE t.\(TableInput.quoted(relation.key)) <= $1::\(relation.keyType)")
        query.binds.append(key)
        do {
            return Int(try connection.query(query, logger: logger).wait().rows.first?.decode(Int64.self) ?? 0)
        } catch let error as PSQLError {
            throw PostgresSettings.Failure("counting the rows of \(input.described): \(PostgresErrors.describe(error))")
        }
    }

    /// The next page after ``lastKey``; a lost connection is opened again (up to three times:
    /// the page is read again from the same key, nothing read twice).
    /// The next page's query, sent as soon as the page before it came (after its last key): the
    /// database reads it while that page is made into records. `nil`: none sent.
    private var pending: EventLoopFuture<PostgresQueryResult>?

    private func fetch() throws {
        page.removeAll(keepingCapacity: true)
        keys.removeAll(keepingCapacity: true)
        index = 0
        var attempt = 0
        while true {
            do {
                // (A query handed to a connection the server has closed is never answered: its
                // loss is taken as such here, not waited on.)
                if pending == nil && connection.isClosed { throw ConnectionEnded() }
                let result = try answer(pending ?? connection.query(pageQuery(after: lastKey), logger: logger))
                pending = nil
                if result.rows.count == pageSize, let last = result.rows.last, !connection.isClosed {
                    pending = connection.query(pageQuery(after: try key(of: last)), logger: logger)
                }
                if shape == .fields { makeFields(result) } else { try makeJSON(result) }
                break
            } catch let error as PSQLError where Self.isConnectionLoss(error) {
                try connectAgain(attempt: &attempt, PostgresErrors.describe(error))
            } catch is ConnectionEnded {
                try connectAgain(attempt: &attempt, "the server closed the connection")
            } catch let error as PSQLError {
                throw PostgresSettings.Failure("reading \(input.described): \(PostgresErrors.describe(error))")
            }
        }
        if page.count < pageSize { ended = true }
        lastKey = keys.last ?? lastKey
    }

    /// An error that ends the connection, not the query: the connection closed or broken, or the
    /// server's own end of it (SQLSTATE class 08, or 57P01–57P03: shut down by an administrator,
    /// a crash, a restart).
    static func isConnectionLoss(_ error: PSQLError) -> Bool {
        if error.code == .serverClosedConnection || error.code == .connectionError || error.code == .uncleanShutdown { return true }
        guard error.code == .server, let state = error.serverInfo?[.sqlState] else { return false }
        return state.hasPrefix("08") || state == "57P01" || state == "57P02" || state == "57P03"
    }

    /// The query's answer, waited for while the connection is open: a query handed to a
    /// connection in the moment the server closed it is never answered (postgres-nio drops it).
    private func answer(_ query: EventLoopFuture<PostgresQueryResult>) throws -> PostgresQueryResult {
        let done = NSCondition()
        let box = UnsafeTransfer(ResultBox())
        query.whenComplete { result in
            done.lock()
            box.value.result = result
            done.signal()
            done.unlock()
        }
        done.lock()
        defer { done.unlock() }
        while box.value.result == nil {
            if !done.wait(until: Date(timeIntervalSinceNow: 1)), box.value.result == nil, connection.isClosed { throw ConnectionEnded() }
        }
        return try box.value.result!.get()
    }

    private final class ResultBox {
        var result: Result<PostgresQueryResult, any Error>?
    }

    /// The connection the server closed while it was idle.
    private struct ConnectionEnded: Error {}

    /// A lost connection opened again (three times at most), the page to be read again from the same key.
    private func connectAgain(attempt: inout Int, _ description: String) throws {
        pending = nil
        page.removeAll(keepingCapacity: true)
        keys.removeAll(keepingCapacity: true)
        attempt += 1
        guard attempt <= 3 else { throw PostgresSettings.Failure("reading \(input.described): \(description)") }
        logger.warning("the database connection was lost while reading; connecting again", metadata: ["attempt": "\(attempt)"])
        PostgresConnector.close(connection)
        connection = try PostgresConnector.connect(input.settings, logger: logger)
    }

    /// The page after `key` (from the start with `nil`), through the shard's last key if any.
    private func pageQuery(after key: String?) -> PostgresQuery {
        var query = PostgresQuery(
            unsafeSQL: shape == .fields
                ? relation.fieldsQuery(after: key != nil, through: throughKey != nil, limit: pageSize, columns: fieldColumns)
                : relation.pageQuery(after: key != nil, through: throughKey != nil, limit: pageSize, columns: columns))
        if let key { query.binds.append(key) }
        if let throughKey { query.binds.append(throughKey) }
        return query
    }

    /// A row's key as text: the fields shape's first column, the JSON shape's second.
    private func key(of row: PostgresRow) throws -> String {
        try PostgresRandomAccessRow(row)[shape == .fields ? 0 : 1].decode(String.self)
    }

    /// A page in the JSON shape: each row's object parsed.
    private func makeJSON(_ result: PostgresQueryResult) throws {
        let first = nextPosition.seq
        for (offset, row) in result.rows.enumerated() {
            let (json, key) = try row.decode((String, String).self)
            let bytes = Array(json.utf8)
            let position = RecordPosition(seq: first + offset, offset: Int64(first + offset), line: first + offset + 1)
            let content: InputRecord.Content
            do {
                content = .json(try JSONNode.parse(bytes))
            } catch {
                content = .invalid(RecordError(.invalidJSON, "row \(first + offset + 1) did not read as JSON"))
            }
            page.append(InputRecord(position: position, bytes: bytes, ending: .lf, content: content))
            keys.append(key)
        }
    }

    /// A page in the fields shape: each row's cells written as one CSV line (quoted where a value
    /// holds a comma, a quote or a line break, or is empty), straight from the cells' bytes.
    private func makeFields(_ result: PostgresQueryResult) {
        let first = nextPosition.seq
        for (offset, row) in result.rows.enumerated() {
            var bytes: [UInt8] = []
            var fields: [CSVField] = []
            fields.reserveCapacity(row.count)
            var key = ""
            for (index, cell) in row.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                let start = bytes.count
                var quoted = false
                if let value = cell.bytes {
                    value.withUnsafeReadableBytes { value in
                        quoted = value.isEmpty || value.contains { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D }
                        if quoted {
                            bytes.append(UInt8(ascii: "\""))
                            for byte in value {
                                bytes.append(byte)
                                if byte == UInt8(ascii: "\"") { bytes.append(byte) }
                            }
                            bytes.append(UInt8(ascii: "\""))
                        } else {
                            bytes.append(contentsOf: value)
                        }
                        if index == 0 { key = String(decoding: value, as: UTF8.self) }
                    }
                }
                fields.append(CSVField(range: start..<bytes.count, quoted: quoted))
            }
            let position = RecordPosition(seq: first + offset, offset: Int64(first + offset), line: first + offset + 1)
            page.append(InputRecord(position: position, bytes: bytes, ending: .lf, content: .csv(fields)))
            keys.append(key)
        }
    }
}

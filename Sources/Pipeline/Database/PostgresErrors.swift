import PostgresNIO

/// What a ``PSQLError`` says, in a line: the server's message and SQLSTATE where it sent one,
/// else the client's code. Never the server's `detail`, which may quote a row's values (`Key
/// (card)=(...)`); a message may quote one too (`invalid input syntax ... "..."`), and is masked
/// as every line we print is.
enum PostgresErrors {
    static func describe(_ error: PSQLError) -> String {
        if let fields = error.serverInfo, let message = fields[.message] {
            let state = fields[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
            return message + state
        }
        if let underlying = error.underlying { return "\(error.code): \(underlying)" }
        return "\(error.code)"
    }
}

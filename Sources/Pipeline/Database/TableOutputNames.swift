/// The base name of a table output's own files (rejects, checkpoint): the table's name, in the
/// working folder, any character but a letter, digit, `.`, `-` or `_` made `_`.
public enum TableOutputNames {
    public static func base(_ url: String) throws -> String {
        let parsed = try PostgresURL(url)
        guard let table = parsed.parameters["table"], !table.isEmpty else {
            throw PostgresSettings.Failure("name the table to write: \(PostgresURL.withoutQuery(url))?table=NAME")
        }
        return String(table.map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_" ? $0 : "_" })
    }
}

import Foundation

/// libpq's password file (`~/.pgpass`, or `PGPASSFILE`): lines of
/// `hostname:port:database:username:password`, each of the first four a value or `*`, `\:` and
/// `\\` escaping; `#` starts a comment line; the first line that matches gives the password. As
/// libpq does, a file that its group or others can read is ignored, with a warning on standard
/// error (its password is not used), and a missing file is no password.
public enum PasswordFile {
    public static func password(in path: String, host: String, port: Int, database: String, user: String) throws -> String? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
        guard attributes[.type] as? FileAttributeType == .typeRegular else { return nil }
        let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0
        if mode & 0o077 != 0 {
            FileHandle.standardError.write(
                Data("warning: password file \(path) has group or world access; its passwords are not used (chmod 0600 \(path))\n".utf8)
            )
            return nil
        }
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let wanted = [host, String(port), database, user]
        for line in String(decoding: data, as: UTF8.self).split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            if line.hasPrefix("#") { continue }
            let fields = split(line)
            guard fields.count == 5 else { continue }
            if zip(fields.prefix(4), wanted).allSatisfy({ $0 == "*" || $0 == $1 }) { return fields[4] }
        }
        return nil
    }

    /// A line's fields: split at `:`, with `\:` and `\\` taken as the character escaped.
    static func split<S: StringProtocol>(_ line: S) -> [String] {
        var fields: [String] = []
        var field = ""
        var escaped = false
        for character in line {
            if escaped {
                field.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == ":" && fields.count < 4 {
                fields.append(field)
                field = ""
            } else {
                field.append(character)
            }
        }
        fields.append(field)
        return fields
    }
}

import Foundation

extension APIKey {
    /// `text` (something a server sent) without the key in any form it may be echoed in — as
    /// sent, base64-decoded, the partner key after the colon — and without the word after
    /// `Basic`, `Bearer` or `Authorization:`, each replaced by `<redacted>`: a server may echo the
    /// request's `Authorization` in a refusal or an error message, and no part of it is ever shown.
    public static func redact(_ text: String, key: APIKey?) -> String {
        var out = text
        if let key {
            var secrets = [key.value]
            if let decoded = Data(base64Encoded: key.value).flatMap({ String(data: $0, encoding: .utf8) }) {
                secrets.append(decoded)
                if let colon = decoded.firstIndex(of: ":") { secrets.append(String(decoded[decoded.index(after: colon)...])) }
            }
            for secret in secrets.sorted(by: { $0.count > $1.count }) where secret.count >= 4 && out.contains(secret) {
                out = out.replacingOccurrences(of: secret, with: "<redacted>")
            }
        }
        // Whatever follows a scheme name, a key we would not recognise (another one, cut) too.
        guard out.range(of: #"(?i)(basic|bearer|authorization)"#, options: .regularExpression) != nil else { return out }
        return out.replacingOccurrences(
            of: #"(?i)\b(authorization:?\s+(?:basic\s+|bearer\s+)?|basic\s+|bearer\s+)(?!<redacted>)[^\s"',;]+"#, with: "$1<redacted>",
            options: .regularExpression
        )
    }
}

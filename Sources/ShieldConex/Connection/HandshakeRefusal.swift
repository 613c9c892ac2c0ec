import Foundation
import NIOHTTP1

/// Turns an HTTP answer other than 101 to the WebSocket handshake into a ``ShieldConexError``:
/// 401/403 an authentication failure (with the server's JSON message when it sent one, e.g.
/// ORCA's `{"code": 8003, "message": "..."}`), anything else a refusal with its status, reason
/// phrase and `Retry-After`.
enum HandshakeRefusal {
    /// What the server sent is shown with the key (`key`) and anything that looks like a
    /// credential (`Basic …`, `Bearer …`) taken out: a server may echo the request's
    /// `Authorization` in its refusal.
    static func error(head: HTTPResponseHead, body: [UInt8], key: APIKey? = nil, now: Date = Date()) -> ShieldConexError {
        let status = Int(head.status.code)
        if status == 401 || status == 403 {
            return .authenticationFailed(status: status, message: message(in: body).map { APIKey.redact($0, key: key) })
        }
        let reason = head.status.reasonPhrase.isEmpty ? "(no reason given)" : head.status.reasonPhrase
        return .handshakeRefused(
            status: status, reason: APIKey.redact(printable(reason), key: key),
            retryAfter: head.headers.first(name: "Retry-After").flatMap { retryAfter($0, now: now) }
        )
    }

    /// `Retry-After` as delay-seconds or an HTTP-date (RFC 9110 §10.2.3); `nil` when it is neither.
    /// Capped at an hour: a larger value is more likely a mistake than a plan.
    static func retryAfter(_ value: String, now: Date) -> Duration? {
        let text = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Int(text), seconds >= 0 {
            return .seconds(min(seconds, 3600))
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: text) else { return nil }
        let seconds = max(0, min(3600, date.timeIntervalSince(now)))
        return .milliseconds(Int64(seconds * 1000))
    }

    /// The `message` of a JSON body (`{"code": 8003, "message": ...}` or `{"errorCode": ..., "message": ...}`),
    /// with its code when it has one.
    static func message(in body: [UInt8]) -> String? {
        guard !body.isEmpty, let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else { return nil }
        let payload = object["payload"] as? [String: Any] ?? object
        let code = (payload["code"] ?? payload["errorCode"]).flatMap { "\($0)" }
        guard let message = payload["message"] as? String, !message.isEmpty else { return code.map { "code \($0)" } }
        return code.map { "\($0) \(printable(message))" } ?? printable(message)
    }

    /// At most 200 printable characters of what a server sent.
    static func printable(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.prefix(200).map { $0.properties.generalCategory == .control ? " " : $0 }))
    }
}

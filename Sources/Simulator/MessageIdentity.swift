import Crypto
import Foundation

/// Message ids and bfids in the shapes of the spec's samples.
///
/// A messageId is 25 digits: `1`, the UTC time as `yyyyMMddHHmmssSSS`, and a 7-digit sequence
/// (the sample `1201911201201321031626749` reads as 2019-11-20 12:01:32.103). A bfid is the
/// base64 of `v1:<messageId>|<32 hex>||`, where the hex is an HMAC tag of the messageId and the
/// templateRef: the simulator can later tell, without storing anything, which template and
/// which tokenization time a bfid belongs to, and reject bfids it did not issue.
public struct MessageIdentity: @unchecked Sendable {
    /// An HMAC with the key already set up (its padded key hashed), copied for every tag: setting
    /// the key up per bfid was a third of the simulator's CPU per request. Immutable (HMAC and
    /// SymmetricKey are not marked Sendable in this swift-crypto; a copy is updated, never this).
    private let keyed: HMAC<SHA256>

    public init(secret: SymmetricKey) {
        keyed = HMAC<SHA256>(key: secret)
    }

    /// The messageId for the given time (milliseconds since 1970) and sequence number.
    public static func messageId(millisecondsSince1970 ms: Int64, sequence: UInt64) -> String {
        let (year, month, day, hour, minute, second, millisecond) = civil(ms)
        var text = "1"
        func pad(_ value: Int, _ width: Int) {
            let digits = String(value)
            text += String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        pad(year, 4); pad(month, 2); pad(day, 2); pad(hour, 2); pad(minute, 2); pad(second, 2); pad(millisecond, 3)
        pad(Int(sequence % 10_000_000), 7)
        return text
    }

    /// The time a messageId was made, or `nil` if it is not one of ours.
    public static func date(ofMessageId messageId: String) -> Date? {
        let digits = Array(messageId.utf8)
        guard digits.count == 25, digits.allSatisfy({ (48...57).contains($0) }) else { return nil }
        func number(_ range: Range<Int>) -> Int {
            digits[range].reduce(0) { $0 * 10 + Int($1 - 48) }
        }
        var components = DateComponents()
        components.year = number(1..<5)
        components.month = number(5..<7)
        components.day = number(7..<9)
        components.hour = number(9..<11)
        components.minute = number(11..<13)
        components.second = number(13..<15)
        components.nanosecond = number(15..<18) * 1_000_000
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.date(from: components)
    }

    /// The bfid for a tokenization with `messageId` under `templateRef`.
    public func bfid(messageId: String, templateRef: String) -> String {
        let text = "v1:\(messageId)|\(tag(messageId: messageId, templateRef: templateRef))||"
        return Data(text.utf8).base64EncodedString()
    }

    /// The messageId and templateRef of a bfid this simulator issued, trying each of `templateRefs`.
    public func parse(bfid: String, templateRefs: some Sequence<String>) -> (messageId: String, templateRef: String)? {
        guard let data = Data(base64Encoded: bfid), let text = String(data: data, encoding: .utf8),
            text.hasPrefix("v1:"), text.hasSuffix("||")
        else { return nil }
        let body = text.dropFirst(3).dropLast(2)
        let parts = body.split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        let messageId = String(parts[0])
        let tagText = String(parts[1])
        for templateRef in templateRefs where tag(messageId: messageId, templateRef: templateRef) == tagText {
            return (messageId, templateRef)
        }
        return nil
    }

    /// The first 16 bytes of HMAC-SHA256("bfid|messageId|templateRef"), in lowercase hex.
    func tag(messageId: String, templateRef: String) -> String {
        var mac = keyed
        mac.update(data: Array("bfid|\(messageId)|\(templateRef)".utf8))
        let hex: StaticString = "0123456789abcdef"
        var text = [UInt8]()
        text.reserveCapacity(32)
        for byte in mac.finalize().prefix(16) {
            text.append(hex.utf8Start[Int(byte >> 4)])
            text.append(hex.utf8Start[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Civil UTC date and time from milliseconds since 1970 (Howard Hinnant's days-from-civil inverse).
    static func civil(_ ms: Int64) -> (Int, Int, Int, Int, Int, Int, Int) {
        let millisecond = Int(((ms % 1000) + 1000) % 1000)
        let totalSeconds = (ms - Int64(millisecond)) / 1000
        var days = totalSeconds / 86_400
        var secondsOfDay = totalSeconds % 86_400
        if secondsOfDay < 0 {
            secondsOfDay += 86_400
            days -= 1
        }
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        return (
            Int(year), Int(month), Int(day), Int(secondsOfDay / 3600), Int(secondsOfDay % 3600 / 60),
            Int(secondsOfDay % 60), millisecond
        )
    }
}

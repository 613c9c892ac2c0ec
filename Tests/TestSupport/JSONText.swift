import Foundation

/// A JSON object from a command's output or a report file.
public enum JSONText {
    public struct NotAnObject: Error, CustomStringConvertible {
        public var description: String
    }

    public static func object(_ text: String) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw NotAnObject(description: "not a JSON object: \(text.prefix(200))")
        }
        return object
    }
}

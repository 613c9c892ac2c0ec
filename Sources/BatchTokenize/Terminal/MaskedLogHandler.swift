import Foundation
import ArgumentParser
import Logging

/// How log lines are written: plain text for people, JSON lines for log aggregators.
enum LogFormat: String, CaseIterable, Sendable {
    case text
    case json
}

/// The swift-log handler of the executable: writes to stderr through ``Console`` (so every
/// line is masked and the progress line stays intact), as text or as one JSON object per line.
struct MaskedLogHandler: LogHandler {
    var label: String
    var format: LogFormat
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var all = metadata
        if let explicit = event.metadata { all.merge(explicit) { $1 } }
        if let error = event.error { all["error"] = "\(error)" }
        Console.write(Self.render(level: event.level, label: label, message: "\(event.message)", metadata: all, format: format), alreadyMasked: format == .json)
    }

    static func render(level: Logger.Level, label: String, message: String, metadata: Logger.Metadata, format: LogFormat) -> String {
        let time = timestamp()
        switch format {
        case .text:
            let fields = metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            return "\(time) \(level) \(label): \(message)" + (fields.isEmpty ? "" : " \(fields)")
        case .json:
            var object: [String: Any] = ["time": time, "level": level.rawValue, "logger": label, "message": message]
            for (key, value) in metadata where object[key] == nil { object[key] = "\(value)" }
            return jsonLine(object)
        }
    }

    /// One JSON object on one line, keys sorted, every string in it masked (numbers are left
    /// as they are, so the line stays valid JSON: write it with `alreadyMasked: true`).
    static func jsonLine(_ object: [String: Any]) -> String {
        let masking = Console.masking
        func masked(_ value: Any) -> Any {
            switch value {
            case let text as String: masking.mask(text)
            case let object as [String: Any]: object.mapValues(masked)
            case let array as [Any]: array.map(masked)
            default: value
            }
        }
        let data = (try? JSONSerialization.data(withJSONObject: masked(object), options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

/// The current UTC time as ISO 8601 with milliseconds: `2026-11-23T14:05:09.123Z`.
func timestamp(_ date: Date = Date()) -> String {
    let seconds = date.timeIntervalSince1970
    var time = time_t(seconds.rounded(.down))
    var parts = tm()
    gmtime_r(&time, &parts)
    let millis = Int((seconds - seconds.rounded(.down)) * 1000)
    return String(
        format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
        Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), millis
    )
}

/// Logging for the executable, bootstrapped once per process.
enum LoggingSetup {
    static func bootstrap(level: Logger.Level, format: LogFormat = .text) {
        LoggingSystem.bootstrap { label in
            MaskedLogHandler(label: label, format: format, logLevel: level)
        }
    }
}

extension LogFormat: ExpressibleByArgument {}

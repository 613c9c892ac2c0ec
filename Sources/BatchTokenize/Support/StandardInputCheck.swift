import ArgumentParser
import Foundation
import Pipeline

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What `--input -` needs: a name for the job (a stream has no path to be known by), a format
/// (from `--format`, or the name's extension), data piped in (not a terminal), and no plan (a
/// plan reads its input twice).
enum StandardInputCheck {
    /// The stream's name when `inputPath` is `-`; `nil` for a file.
    static func name(inputPath: String, name: String?, format: InputFormat?, planned: Bool) throws -> String? {
        guard inputPath == InputSource.standardInput else {
            if name != nil { throw ValidationError("--input-name goes with --input - (a file is known by its path)") }
            return nil
        }
        guard let name, !name.isEmpty else {
            throw ValidationError(
                "--input - needs --input-name NAME: the name this job is known by (a stream has no path); give the same name again to resume it"
            )
        }
        if planned { throw ValidationError("--plan does not go with --input -: a plan reads its input twice; give the file") }
        let named = [".csv", ".tsv", ".ndjson", ".jsonl", ".json"].contains { name.lowercased().replacingOccurrences(of: ".gz", with: "").hasSuffix($0) }
        if format == nil, !named {
            throw ValidationError("--input - needs --format csv|ndjson (or an --input-name ending .csv or .ndjson)")
        }
        if isatty(STDIN_FILENO) != 0 {
            throw ValidationError(
                "--input - reads standard input, which is a terminal here: pipe the data in (gpg --decrypt cards.csv.gpg | batch-tokenize run --input - --input-name cards.csv ...)"
            )
        }
        return name
    }
}

import Foundation
import FuzzSupport
import Pipeline

/// Bytes → NDJSON records and a mapping over them: never a trap; a record re-read from its
/// position is the same.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNDJSONReader(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let path = fuzzInputFile(start, count, name: "ndjson")
    guard var reader = try? NDJSONReader(path: path) else { return 0 }
    let mapper = try? FieldMapper(
        instructions: [
            Instruction(.jsonpath, "$.card.number", fieldName: "n"), Instruction(.regex, "[0-9]{4,}", fieldName: "r", source: "notes"),
        ],
        format: .ndjson, header: nil
    )
    var seen = 0
    while let record = try? reader.next(), seen < 10_000 {
        seen += 1
        _ = mapper?.map(record)
        if seen <= 20 {
            var again = try? NDJSONReader(path: path, from: record.position)
            if (try? again?.next())??.bytes != record.bytes { fatalError("record differs when read from its offset") }
        }
    }
    return 0
}

@_cdecl("FuzzNDJSONReader_main")
public func fuzzEntry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzNDJSONReader)
}

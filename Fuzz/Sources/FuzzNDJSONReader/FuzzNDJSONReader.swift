import Foundation
import Pipeline

/// Bytes → NDJSON records and a mapping over them: never a trap; a record re-read from its
/// position is the same.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNDJSONReader(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let path = NSTemporaryDirectory() + "fuzz-\(getpid())-ndjson"
    FileManager.default.createFile(atPath: path, contents: Data(bytes: start, count: count))
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

// SwiftPM links an executable's entry point as `FuzzNDJSONReader_main`; libFuzzer's driver runs from it.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafeRawPointer, Int) -> CInt
) -> CInt

@_cdecl("FuzzNDJSONReader_main")
public func fuzzEntry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments, fuzzNDJSONReader)
}

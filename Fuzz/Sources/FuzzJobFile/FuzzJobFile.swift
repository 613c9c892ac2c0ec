import Foundation
import FuzzSupport
import Pipeline

/// Bytes of a job file → a configuration and its mapping checks, or an error; never a trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJobFile(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let path = fuzzInputFile(start, count, name: "job.json")
    guard let job = try? JobConfiguration.load(path: path) else { return 0 }
    _ = job.cardNumberPattern
    if let instructions = job.instructions, !instructions.isEmpty {
        _ = try? FieldMapper(instructions: instructions, format: .ndjson, header: nil)
    }
    return 0
}

@_cdecl("FuzzJobFile_main")
public func fuzzEntry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzJobFile)
}

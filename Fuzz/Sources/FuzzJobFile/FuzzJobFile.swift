import Foundation
import Pipeline

/// Bytes of a job file → a configuration and its mapping checks, or an error; never a trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJobFile(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let path = NSTemporaryDirectory() + "fuzz-\(getpid())-job.json"
    FileManager.default.createFile(atPath: path, contents: Data(bytes: start, count: count))
    guard let job = try? JobConfiguration.load(path: path) else { return 0 }
    _ = job.cardNumberPattern
    if let instructions = job.instructions, !instructions.isEmpty {
        _ = try? FieldMapper(instructions: instructions, format: .ndjson, header: nil)
    }
    return 0
}

// SwiftPM links an executable's entry point as `FuzzJobFile_main`; libFuzzer's driver runs from it.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafeRawPointer, Int) -> CInt
) -> CInt

@_cdecl("FuzzJobFile_main")
public func fuzzEntry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments, fuzzJobFile)
}

import Foundation

/// libFuzzer's driver, run from each target's entry point (SwiftPM links an executable's entry
/// point as `<target>_main`, so libFuzzer's own `main` is not used).
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafeRawPointer, Int) -> CInt
) -> CInt

/// Runs libFuzzer with `callback` as the target.
public func runFuzzer(
    _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ callback: @convention(c) (UnsafeRawPointer, Int) -> CInt
) -> CInt {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments, callback)
}

/// Writes one input to a file of this process's own (the readers read files).
public func fuzzInputFile(_ start: UnsafeRawPointer, _ count: Int, name: String) -> String {
    let path = NSTemporaryDirectory() + "fuzz-\(getpid())-\(name)"
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes: start, count: count))
    return path
}

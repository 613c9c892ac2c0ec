import FuzzSupport
import NIOCore
import ShieldConex

/// Bytes of a frame from the server → a `Response` or an error, never a trap (a timestamp of
/// 1e19 trapped once).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzResponseDecoder(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let buffer = ByteBuffer(bytes: UnsafeRawBufferPointer(start: start, count: count))
    _ = try? Response.decode(buffer)
    _ = try? IncomingRequest.decode(buffer)
    return 0
}

@_cdecl("FuzzResponseDecoder_main")
public func fuzzEntry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzResponseDecoder)
}

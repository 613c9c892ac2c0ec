/// Where the engine's output or rejects lines go: bytes handed over in order, then to the kernel
/// (``flush()``: a killed process keeps them), then durable (``sync()``). ``OutputFile`` is the real
/// one.
public protocol OutputSink: AnyObject {
    func write(_ bytes: [UInt8]) throws
    func flush() throws
    func sync() throws
    /// Every byte written so far (where the next line starts).
    var offset: Int64 { get }
}

extension OutputFile: OutputSink {}

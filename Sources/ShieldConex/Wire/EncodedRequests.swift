/// Requests written as JSON, each without its opening `{"traceId":"…"` (which the connection
/// writes when it gives the request its traceId): a body is the rest of the message, from
/// `,"action":` to the closing brace. All bodies share one byte array.
public struct EncodedRequests: Sendable {
    /// The bodies, one after another.
    public private(set) var bytes: [UInt8] = []
    /// Where each body ends in ``bytes``.
    public private(set) var ends: [Int] = []

    public init() {}

    /// Room for `count` requests of about `bytesEach` bytes.
    public init(reservingCapacity count: Int, bytesEach: Int = 256) {
        bytes.reserveCapacity(count * bytesEach)
        ends.reserveCapacity(count)
    }

    public var count: Int { ends.count }
    public var isEmpty: Bool { ends.isEmpty }

    /// Appends `request`'s body, as ``Request/encode(traceId:into:)-(_,JSONWriter)`` writes it after the traceId.
    public mutating func append(_ request: Request) {
        var writer = startBody()
        request.encodeAfterTraceId(into: &writer)
        endBody(&writer)
    }

    /// A writer over the shared array, to append one body to (then ``endBody(_:)``): the array
    /// is moved out and back, never copied.
    mutating func startBody() -> JSONWriter {
        var writer = JSONWriter(capacity: 0)
        swap(&writer.bytes, &bytes)
        return writer
    }

    mutating func endBody(_ writer: inout JSONWriter) {
        swap(&writer.bytes, &bytes)
        ends.append(bytes.count)
    }

    /// Calls `body` with the bytes of request `index`.
    @inlinable
    public func withBody<T>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        let start = index == 0 ? 0 : ends[index - 1]
        return try bytes.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[start..<ends[index]])) }
    }
}

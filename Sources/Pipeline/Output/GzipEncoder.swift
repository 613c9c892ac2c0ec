/// How ``GzipOutputFile`` turns lines into gzip members: zlib's stream (``GzipDeflater``), which
/// deflates as lines come and can hand out everything so far inside a member (a sync flush), or
/// libdeflate's whole buffers (``WholeMemberDeflater``), faster, which keeps lines until a member
/// ends, so that every point a resume can take up from ends one.
protocol GzipEncoder: AnyObject {
    /// The fewest line bytes between points that keep the file from growing for them (members
    /// below it compress worse): the engine makes points no closer (but at commits). 0: any.
    var pointSpacing: Int { get }
    /// Whether ``point(into:)`` ends the member.
    var pointEndsMember: Bool { get }
    /// Takes `bytes` into the open member (starting one if none is open).
    func add(_ bytes: UnsafeRawBufferPointer, into sink: (UnsafeRawBufferPointer) throws -> Void) throws
    /// Hands out everything taken so far, ending where a resume can take up from.
    func point(into sink: (UnsafeRawBufferPointer) throws -> Void) throws
    /// Ends the open member (an empty one if nothing was taken since the last).
    func finishMember(into sink: (UnsafeRawBufferPointer) throws -> Void) throws
}

struct GzipEncoderFailure: Error, CustomStringConvertible {
    var description: String
}

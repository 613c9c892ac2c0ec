extension [UInt8] {
    /// Appends raw bytes with one copy, through a typed buffer: `append(contentsOf:)` given an
    /// `UnsafeRawBufferPointer` copies byte by byte. (ShieldConex has the same for itself; this
    /// one is public for the pipeline, which writes answers' bytes into lines.)
    @inlinable
    public mutating func appendRaw(_ raw: UnsafeRawBufferPointer) {
        append(contentsOf: raw.assumingMemoryBound(to: UInt8.self))
    }
}

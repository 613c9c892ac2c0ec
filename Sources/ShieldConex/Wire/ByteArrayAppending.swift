extension [UInt8] {
    /// Appends raw bytes with one copy: `append(contentsOf:)` given an `UnsafeRawBufferPointer`
    /// goes element by element (it has no contiguous storage of `UInt8` to offer), which made
    /// copying a bfid cost more than reading it.
    @inline(__always)
    mutating func appendRaw(_ raw: UnsafeRawBufferPointer) {
        append(contentsOf: raw.assumingMemoryBound(to: UInt8.self))
    }
}

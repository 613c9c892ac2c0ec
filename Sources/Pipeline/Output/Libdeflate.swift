#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Eric Biggers' libdeflate, found at run time (`dlopen`): it deflates a whole buffer into a gzip
/// member at its level 1 in about 60% of zlib's level-1 time, for a file of about the same size.
/// Loaded, not linked: Debian ships the library as `libdeflate0` (on our machines) and its header
/// only in `libdeflate-dev` (not on them), and a fresh machine must build without it. Where the
/// library is missing, ``GzipOutputFile`` deflates with zlib.
///
/// Its API is four functions, stable since its 1.0 (the soname has been 0 since then).
struct Libdeflate: @unchecked Sendable {
    private typealias Allocate = @convention(c) (Int32) -> OpaquePointer?
    private typealias Compress = @convention(c) (OpaquePointer?, UnsafeRawPointer?, Int, UnsafeMutableRawPointer?, Int) -> Int
    private typealias Bound = @convention(c) (OpaquePointer?, Int) -> Int
    private typealias Free = @convention(c) (OpaquePointer?) -> Void

    private let allocate: Allocate
    private let compress: Compress
    private let bound: Bound
    private let free: Free

    /// The library, or `nil` where it cannot be loaded (or `BATCH_TOKENIZE_DEFLATE=zlib` asks for zlib).
    static let shared: Libdeflate? = {
        if let chosen = getenv("BATCH_TOKENIZE_DEFLATE"), String(cString: chosen) == "zlib" { return nil }
        guard let handle = dlopen("libdeflate.so.0", RTLD_NOW | RTLD_LOCAL) else { return nil }
        guard let allocate = dlsym(handle, "libdeflate_alloc_compressor"),
            let compress = dlsym(handle, "libdeflate_gzip_compress"),
            let bound = dlsym(handle, "libdeflate_gzip_compress_bound"),
            let free = dlsym(handle, "libdeflate_free_compressor")
        else {
            dlclose(handle)
            return nil
        }
        // The handle stays open for the process's life: the functions live in it.
        return Libdeflate(
            allocate: unsafeBitCast(allocate, to: Allocate.self), compress: unsafeBitCast(compress, to: Compress.self),
            bound: unsafeBitCast(bound, to: Bound.self), free: unsafeBitCast(free, to: Free.self)
        )
    }()

    /// A compressor at `level` (1 fastest … 12 smallest), freed with the returned object.
    func compressor(level: Int32) -> Compressor? {
        guard let handle = allocate(level) else { return nil }
        return Compressor(library: self, handle: handle)
    }

    final class Compressor {
        private let library: Libdeflate
        private let handle: OpaquePointer

        fileprivate init(library: Libdeflate, handle: OpaquePointer) {
            self.library = library
            self.handle = handle
        }

        deinit { library.free(handle) }

        /// The most bytes a member of `count` bytes can take.
        func bound(_ count: Int) -> Int { library.bound(handle, count) }

        /// Deflates `input` into one whole gzip member at `output`; the member's length, or 0 if
        /// `output` is too small (never, with ``bound(_:)`` bytes).
        func gzip(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int {
            library.compress(handle, input.baseAddress, input.count, output.baseAddress, output.count)
        }
    }
}

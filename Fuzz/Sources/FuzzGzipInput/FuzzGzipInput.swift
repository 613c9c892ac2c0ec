import Foundation
import FuzzSupport
import Pipeline

/// Bytes after gzip's magic → a gzip CSV input: damaged, cut or padded streams are errors, never a
/// trap; the members found are where reading can start (a record read from a member's start
/// and its position is the record read from the file's start); and the records before an error
/// are whole.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGzipInput(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    var bytes: [UInt8] = [0x1F, 0x8B]
    bytes += UnsafeRawBufferPointer(start: start, count: count)
    let path = bytes.withUnsafeBytes { fuzzInputFile($0.baseAddress!, $0.count, name: "csv.gz") }
    let members = try? GzipMember.scan(path: path)
    guard var reader = try? CSVReader(path: path, maxRecordBytes: 4096) else { return 0 }
    var records: [InputRecord] = []
    while let record = try? reader.next(), records.count < 10_000 { records.append(record) }
    for record in records.prefix(20) {
        // From the last member at or before the record (or the start).
        let member = members?.members.last { $0.inflatedOffset <= record.position.offset }
        guard var again = try? CSVReader(path: path, from: record.position, maxRecordBytes: 4096, member: member) else { continue }
        let reread = try? again.next()
        if let reread, reread.bytes != record.bytes { fatalError("record \(record.number) differs when read from its offset") }
    }
    return 0
}

@_cdecl("FuzzGzipInput_main")
public func fuzzEntry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzGzipInput)
}

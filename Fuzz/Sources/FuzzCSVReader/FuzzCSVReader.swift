import Foundation
import FuzzSupport
import Pipeline

/// Bytes → CSV records: never a trap; and reading from any record's position gives that record
/// again (resume relies on it).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCSVReader(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let path = fuzzInputFile(start, count, name: "csv")
    guard var reader = try? CSVReader(path: path, maxRecordBytes: 4096) else { return 0 }
    var records: [InputRecord] = []
    while let record = try? reader.next(), records.count < 10_000 { records.append(record) }
    for record in records.prefix(20) {
        guard var again = try? CSVReader(path: path, from: record.position, maxRecordBytes: 4096) else { fatalError("cannot reopen at a record") }
        let reread = try? again.next()
        if reread?.bytes != record.bytes { fatalError("record \(record.number) differs when read from its offset") }
    }
    return 0
}

@_cdecl("FuzzCSVReader_main")
public func fuzzEntry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzCSVReader)
}

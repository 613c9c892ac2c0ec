import Foundation
import FuzzSupport
import Pipeline

/// What we write, our reader reads back the same: a rejects line whose id and message are the
/// fuzzer's bytes (as text) is one CSV record of five fields with those values.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRejectsRoundTrip(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    let split = bytes.firstIndex(of: 0) ?? bytes.count / 2
    let id = String(decoding: bytes[..<split], as: UTF8.self)
    let message = String(decoding: bytes[min(split + 1, bytes.count)...], as: UTF8.self)
    var line = RejectsRenderer.headerLine
    RejectsRenderer().render(record: 7, line: 9, id: id, code: "1006", message: message, into: &line)
    let path = NSTemporaryDirectory() + "fuzz-\(getpid())-rejects.csv"
    _ = FileManager.default.createFile(atPath: path, contents: Data(line))
    guard var reader = try? CSVReader(path: path, maxRecordBytes: 1 << 22) else { fatalError("our rejects header does not read back") }
    guard let record = try? reader.next(), case .csv(let fields) = record.content else { fatalError("our rejects line does not read back") }
    let values = fields.map { $0.value(in: record.bytes) }
    // Blank lines are skipped by the reader, and a line break inside a field is written as it
    // is, so compare what survives: the five fields, with the id and the message as written.
    if values.count != 5 || values[0] != "7" || values[3] != "1006" { fatalError("fields differ: \(values.count)") }
    if values[2] != id || values[4] != message { fatalError("id or message differs after a round trip") }
    return 0
}

@_cdecl("FuzzRejectsRoundTrip_main")
public func fuzzEntry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzRejectsRoundTrip)
}

import Checkpoint
import Foundation
import FuzzSupport
import Pipeline

#if canImport(Glibc)
import Glibc
#endif

/// Merge's inputs as a careless operator, a tampered file or a hostile neighbour leave them: a plan
/// of two shards over a fixed input, each shard's checkpoint (complete or not, another job's
/// mapping, commit points moved) and each shard's output and rejects (contents from the fuzzer,
/// cut, grown, swapped, replaced by a symlink to the input or by a copy). Whatever `merge` does,
/// it must never trap, and when it writes a merged output, that output must be exactly the
/// shards' committed outputs joined: never the input, never a cut or swapped shard.
let folder: String = {
    // On a memory file system where there is one: every iteration commits two checkpoints.
    let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm/" : NSTemporaryDirectory()
    let path = base + "fuzz-merge-\(getpid())"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}()
let input = folder + "/cards.csv"
let plan: ShardPlan = {
    var text = "id,card_number\n"
    for index in 0..<20 { text += "C\(index),40000000000000\(String(format: "%02d", index))\n" }
    _ = FileManager.default.createFile(atPath: input, contents: Data(text.utf8))
    return try! ShardPlan.make(path: input, format: .csv, delimiter: UInt8(ascii: ","), shards: 2, key: .local)
}()
let header = Array("id,card_number,bfid\n".utf8)

/// Reads the fuzzer's bytes one decision at a time (zeros once they run out).
struct Bytes {
    var data: [UInt8]
    var index = 0
    mutating func next() -> UInt8 {
        defer { index += 1 }
        return index < data.count ? data[index] : 0
    }
    mutating func rest(_ limit: Int) -> [UInt8] {
        let part = Array(data[min(index, data.count)..<min(index + limit, data.count)])
        index += limit
        return part
    }
}

func identity(of path: String) -> FileIdentity? {
    var info = stat()
    guard lstat(path, &info) == 0 else { return nil }
    return FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
}

func size(of path: String) -> Int64 {
    var info = stat()
    return lstat(path, &info) == 0 ? Int64(info.st_size) : -1
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzShardMerge(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    var bytes = Bytes(data: Array(UnsafeRawBufferPointer(start: start, count: count)))
    let output = folder + "/out.csv"
    for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where name != "cards.csv" {
        try? FileManager.default.removeItem(atPath: folder + "/" + name)
    }
    // (The plan, made once, writes the input first.)
    let shards = plan.shards
    let fingerprint: InputFingerprint
    do {
        fingerprint = try InputFingerprint.of(path: input, key: .local)
    } catch {
        fatalError("the fixed input cannot be fingerprinted: \(error)")
    }
    var committed: [(output: Data, rejects: Data)] = []
    for shard in shards {
        let flags = bytes.next()
        let shardOutput = ShardPlan.shardPath(output: output, index: shard.index)
        let rejects = shardOutput + ".rejects.csv"
        let body = bytes.rest(Int(bytes.next()))
        let outputBytes = Data(header + body)
        let rejectBytes = Data(RejectsRenderer.headerLine)
        _ = FileManager.default.createFile(atPath: shardOutput, contents: outputBytes)
        _ = FileManager.default.createFile(atPath: rejects, contents: rejectBytes)
        committed.append((outputBytes, rejectBytes))
        let mapping = flags & 1 != 0 ? "[\"card_number\"]" : "[\"card_number\",\"card_cvv\"]"
        let job = JobIdentity(
            action: "tokenize", endpoint: "local", templateRef: "t", inputPath: input, input: fingerprint, mapping: mapping,
            options: ["shard": ShardMerge.shardOption(shard, of: plan.shards.count)]
        )
        guard let store = try? CheckpointStore(path: CheckpointStore.defaultPath(forOutput: shardOutput), identity: job) else { return 0 }
        try? store.setFileIdentity("output", identity(of: shardOutput)!, path: shardOutput)
        try? store.setFileIdentity("rejects", identity(of: rejects)!, path: rejects)
        let records = flags & 2 != 0 ? max(0, shard.records - 1) : shard.records
        try? store.write((shard.firstSeq..<(shard.firstSeq + records)).map { RecordResult(seq: $0, status: .done) })
        let seqShift = flags & 4 != 0 ? Int(Int8(bitPattern: bytes.next())) : 0
        let lengthShift = flags & 8 != 0 ? Int64(Int8(bitPattern: bytes.next())) : 0
        let point = CommitPoint(
            seq: shard.endSeq - 1 + seqShift, inputOffset: 0, inputLine: 1, outputOffset: Int64(outputBytes.count) + lengthShift,
            rejectsOffset: Int64(rejectBytes.count)
        )
        try? store.commit(point, complete: flags & 16 == 0)
    }
    // What happens to the files after the runs.
    let tamper = bytes.next()
    let zero = ShardPlan.shardPath(output: output, index: 0)
    let one = ShardPlan.shardPath(output: output, index: 1)
    switch tamper % 8 {
    case 1: truncate(zero, off_t(max(0, Int(size(of: zero)) - Int(bytes.next()))))
    case 2:
        try? FileManager.default.moveItem(atPath: zero, toPath: folder + "/x")
        try? FileManager.default.moveItem(atPath: one, toPath: zero)
        try? FileManager.default.moveItem(atPath: folder + "/x", toPath: one)
    case 3:
        try? FileManager.default.removeItem(atPath: one)
        try? FileManager.default.createSymbolicLink(atPath: one, withDestinationPath: input)
    case 4:
        try? FileManager.default.removeItem(atPath: one)
        _ = FileManager.default.createFile(atPath: one, contents: committed[1].output)
    case 5:
        if let handle = FileHandle(forWritingAtPath: zero) {
            _ = try? handle.seekToEnd()
            try? handle.write(contentsOf: Data(bytes.rest(8)))
            try? handle.close()
        }
    case 6: try? FileManager.default.removeItem(atPath: one + ".rejects.csv")
    default: break
    }
    let merge = ShardMerge(plan: plan, output: output)
    guard let books = try? merge.merge() else {
        precondition(!FileManager.default.fileExists(atPath: output), "a refused merge writes nothing")
        return 0
    }
    // Merged: the books are the plan's, and the output is the committed shard outputs joined.
    precondition(books.records == plan.records && books.balance, "the books balance")
    let merged = FileManager.default.contents(atPath: output) ?? Data()
    let expected = committed[0].output + committed[1].output.dropFirst(header.count)
    precondition(merged == expected, "the merged output is the shards' committed outputs, joined")
    for path in [zero, one] {
        var info = stat()
        precondition(lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFREG, "a shard output that was merged is a regular file")
    }
    return 0
}

@_cdecl("FuzzShardMerge_main")
public func fuzzEntry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzShardMerge)
}

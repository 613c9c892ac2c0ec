import Checkpoint
import Foundation
import FuzzSupport
import Pipeline

/// Bytes of a plan file → refused with a message, or a plan whose every shard can be located,
/// checked against the input, shown by `status --plan` and read from its start; never a trap
/// (`"records": 9223372036854775807` and `"offset": -5` used to be).
let input: String = {
    let path = NSTemporaryDirectory() + "fuzz-\(getpid())-cards.csv"
    var text = "id,card_number,notes\n"
    for index in 0..<40 { text += "C\(index),4000000000000\(String(format: "%03d", index))," + (index % 5 == 0 ? "\"two\nlines\"" : "ok") + "\n" }
    _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
    return path
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzShardPlan(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let path = fuzzInputFile(start, count, name: "plan.json")
    guard let plan = try? ShardPlan.read(path: path) else { return 0 }
    // A plan that passed validation: its numbers are safe to use everywhere.
    precondition(plan.shards.map(\.records).reduce(0, +) == plan.records, "validated counts add up")
    for shard in plan.shards {
        _ = shard.endSeq
        _ = ShardPlan.shardPath(output: "/tmp/out.csv", index: shard.index)
        _ = plan.endOffset(of: shard.index)
        _ = ShardMerge.shardOption(shard, of: plan.shards.count)
        _ = try? plan.checkBoundaries(of: shard.index, path: input, key: .local)
        guard shard.offset <= 4_096 else { continue }
        // Read from where the plan says the shard starts (the engine does the same).
        guard var reader = try? InputSource.open(path: input, format: plan.input.format, from: shard.start).reader else { continue }
        var read = 0
        while read < min(shard.records, 64), (try? reader.next()) != nil { read += 1 }
    }
    // What status --plan and merge do with it when no shard has run.
    for files in ShardMerge(plan: plan, output: NSTemporaryDirectory() + "fuzz-\(getpid())-none.csv").shards() {
        precondition(files.problem != nil, "a shard that never ran cannot be merged")
    }
    return 0
}

@_cdecl("FuzzShardPlan_main")
public func fuzzEntry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzShardPlan)
}

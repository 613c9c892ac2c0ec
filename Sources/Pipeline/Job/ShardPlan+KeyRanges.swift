import Checkpoint
import Foundation
import Logging

/// A plan over a table: shards are ranges of its key (``TableKeyRanges``), each read by keyset
/// pagination within its bounds, so that shards never overlap and rows inserted after the plan
/// fall into exactly one of them (past the last key: the last shard's). A shard's `firstSeq`,
/// `offset` and `line` number its rows from the table's start as they stood when it was cut;
/// they name its records in messages and its checkpoint, not where it reads.
extension ShardPlan {
    /// Cuts the table `input` names into `shards` key ranges of nearly equal row counts.
    public static func make(table input: TableInput, url: String, shards: Int, key: DigestKey, logger: Logger) throws -> ShardPlan {
        guard shards >= 1 else { throw PlanError("a plan has at least one shard") }
        let cut = try TableKeyRanges.cut(input, shards: shards, logger: logger)
        let fingerprint = input.fingerprint(key: key)
        var planned = Input(path: url, format: .ndjson, delimiter: ",", size: fingerprint.size, digest: fingerprint.digest)
        planned.table = cut.relation.name
        planned.definition = key.hexDigest([Array(cut.relation.definition.utf8)])
        var seq = 0
        var cutShards: [Shard] = []
        for (index, range) in cut.ranges.enumerated() {
            var shard = Shard(index: index, firstSeq: seq, offset: Int64(seq), line: seq + 1, records: range.rows)
            shard.afterKey = range.afterKey
            shard.throughKey = range.throughKey
            cutShards.append(shard)
            seq += range.rows
        }
        var plan = ShardPlan(input: planned, records: cut.rows, shards: cutShards)
        for index in plan.shards.indices { plan.shards[index].boundary = plan.keyRangeDigest(of: plan.shards[index], key: key) }
        try plan.validate()
        return plan
    }

    /// A keyed digest of a shard's range and numbers, and of the table the plan is for: an
    /// edited plan (a bound moved, overlapping another shard's) is refused.
    func keyRangeDigest(of shard: Shard, key: DigestKey) -> String {
        let parts = [
            "\(shard.index)", "\(shard.firstSeq)", "\(shard.records)", shard.afterKey.map { "after:" + $0 } ?? "start",
            shard.throughKey.map { "through:" + $0 } ?? "end", input.digest, input.definition ?? "",
        ]
        return key.hexDigest(parts.map { Array($0.utf8) })
    }

    /// Checks a table plan's shape: shards numbered from 0 with counts that add up, each range
    /// starting after the key the one before it ends at, the first from the table's start and the
    /// last to its end.
    func validateKeyRanges() throws {
        guard records >= 0 else { throw PlanError("the plan's record count cannot be negative") }
        var nextSeq = 0
        var previous: Shard?
        for (position, shard) in shards.enumerated() {
            let name = "shard \(position)"
            guard shard.index == position else { throw PlanError("the plan's shards are not numbered 0 to \(shards.count - 1) in order (\(name) says \(shard.index))") }
            guard shard.records >= 0 else { throw PlanError("\(name) has a negative record count") }
            guard shard.firstSeq == nextSeq, shard.offset == Int64(nextSeq), shard.line == nextSeq + 1 else {
                throw PlanError("\(name) starts at record \(shard.firstSeq + 1), not where the shard before it ends (record \(nextSeq + 1))")
            }
            guard shard.afterKey == previous?.throughKey else {
                throw PlanError("\(name)'s key range does not start where shard \(position - 1)'s ends")
            }
            guard (shard.throughKey == nil) == (position == shards.count - 1) else {
                throw PlanError("\(name)'s key range must end at a key, and only the last shard's at the table's end")
            }
            guard shard.member == nil else { throw PlanError("\(name) names a gzip member: a table has none") }
            let (end, overflow) = nextSeq.addingReportingOverflow(shard.records)
            guard !overflow, end <= records else { throw PlanError("\(name)'s records go past the plan's \(records) records") }
            nextSeq = end
            previous = shard
        }
        guard nextSeq == records else { throw PlanError("the shards' records add up to \(nextSeq), not the plan's \(records)") }
    }

    /// Checks that shard `index`'s range is the one `plan` cut (its keyed digest).
    func checkKeyRange(of index: Int, key: DigestKey) throws {
        let shard = shards[index]
        guard keyRangeDigest(of: shard, key: key) == shard.boundary else {
            throw PlanError(
                .inputChanged,
                "shard \(index)'s key range is not the one the plan was made with: the plan was edited (or another API key made it); make the plan again"
            )
        }
    }
}

extension ShardPlan.Input {
    /// Checks that the table a shard reads is the one the plan cut: the same place (server,
    /// database, table, key) and the same columns and types.
    public func checkTable(_ input: TableInput, definition: String, key: DigestKey) throws {
        guard self.digest == input.fingerprint(key: key).digest else {
            throw ShardPlan.PlanError(.inputChanged, "\(input.described) is not the table this plan was cut from; make the plan again")
        }
        guard self.definition == key.hexDigest([Array(definition.utf8)]) else {
            throw ShardPlan.PlanError(.inputChanged, "\(self.table ?? input.table) was altered (columns added, dropped or retyped) since the plan was made; make the plan again")
        }
    }
}

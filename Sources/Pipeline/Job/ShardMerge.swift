import Checkpoint
import Foundation

/// Joins the outputs and rejects of a plan's shards into one output and one rejects file, once
/// every shard's checkpoint says it is complete and belongs to this plan; and adds up their books
/// over the whole input. Nothing is written while any shard is missing, unfinished or another's.
public struct ShardMerge {
    public let plan: ShardPlan
    /// The merged output: the shards' outputs are named after it (``ShardPlan/shardPath(output:index:)``).
    public let output: String
    public let rejects: String

    public init(plan: ShardPlan, output: String, rejects: String? = nil) {
        self.plan = plan
        self.output = output
        self.rejects = rejects ?? output + ".rejects.csv"
    }

    /// One shard's files and what its checkpoint says.
    public struct ShardFiles: Sendable {
        public var shard: ShardPlan.Shard
        public var output: String
        public var rejects: String
        public var checkpoint: String
        public var summary: CheckpointSummary?
        /// Why the shard cannot be merged (missing, unfinished, another plan's), if it cannot.
        public var problem: String?
    }

    /// The books over the whole input.
    public struct Books: Sendable, Hashable, Codable {
        public var records = 0
        public var done = 0
        public var rejectedByErrorCode: [String: Int] = [:]
        public var outcomeUnknown = 0
        public var transient = 0

        public var rejected: Int { rejectedByErrorCode.values.reduce(0, +) }
        public var balance: Bool { done + rejected + outcomeUnknown + transient == records }
    }

    public struct MergeError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Each shard's files and state: what `status --plan` shows, and what `merge` checks.
    public func shards() -> [ShardFiles] {
        plan.shards.map { shard in
            let output = ShardPlan.shardPath(output: self.output, index: shard.index)
            let checkpoint = CheckpointStore.defaultPath(forOutput: output)
            var files = ShardFiles(shard: shard, output: output, rejects: output + ".rejects.csv", checkpoint: checkpoint)
            guard FileManager.default.fileExists(atPath: checkpoint) else {
                files.problem = "not started (no checkpoint \(checkpoint))"
                return files
            }
            do {
                files.summary = try CheckpointStore.summary(path: checkpoint)
            } catch {
                files.problem = "its checkpoint cannot be read: \(error)"
                return files
            }
            let identity = files.summary!.identity
            if identity.options["shard"] != Self.shardOption(shard, of: plan.shards.count)
                || identity.input.size != plan.input.size || identity.input.digest != plan.input.digest
            {
                files.problem = "its checkpoint belongs to another plan or input (\(identity.options["shard"] ?? "not a shard"))"
            } else if !files.summary!.complete {
                files.problem = "not finished: \(files.summary!.recordsCommitted - shard.firstSeq) of \(shard.records) records committed; run the shard again to resume"
            } else if files.summary!.transient > 0 {
                files.problem = "finished with \(files.summary!.transient) records that failed transiently; run the shard again to send them"
            }
            return files
        }
    }

    /// What a shard's checkpoint identity says of it (``BatchJob/identity()``).
    static func shardOption(_ shard: ShardPlan.Shard, of count: Int) -> String {
        "\(shard.index) of \(count): records \(shard.firstSeq + 1) to \(shard.endSeq)"
    }

    /// Checks every shard, then writes the merged output and rejects (each through a temporary
    /// file renamed into place, mode 0600) and returns the books; throws, naming every shard
    /// that is not ready, without writing anything.
    public func merge() throws -> Books {
        let shards = shards()
        let problems = shards.compactMap { files in files.problem.map { "shard \(files.shard.index): \($0)" } }
        guard problems.isEmpty else {
            throw MergeError(description: "cannot merge: " + problems.joined(separator: "; "))
        }
        var books = Books(records: plan.records)
        for files in shards {
            let summary = files.summary!
            books.done += summary.done
            books.outcomeUnknown += summary.outcomeUnknown
            books.transient += summary.transient
            for (code, count) in summary.rejectedByErrorCode { books.rejectedByErrorCode[code, default: 0] += count }
        }
        guard books.balance else {
            throw MergeError(description: "cannot merge: the shards' books do not add up to the plan's \(plan.records) records")
        }
        let delimiter = try JobConfiguration.delimiterByte(plan.input.delimiter)
        try Self.join(shards.map(\.output), into: output) { index, path in
            // The header once: every shard after the first from its first data record.
            guard index > 0, plan.input.format == .csv else { return 0 }
            return try CSVReader(path: path, delimiter: delimiter).header.dataStart.offset
        }
        try Self.join(shards.map(\.rejects), into: rejects) { index, path in
            index > 0 && FileManager.default.fileExists(atPath: path) ? Int64(RejectsRenderer.headerLine.count) : 0
        }
        return books
    }

    /// Copies `parts` one after the other, each from the offset `skip` gives, into `path`
    /// (through a temporary file, synced and renamed into place: ``AtomicFile``), mode 0600.
    static func join(_ parts: [String], into path: String, skip: (Int, String) throws -> Int64) throws {
        try AtomicFile.write(to: path, mode: 0o600, bufferLimit: 1 << 20) { file in
            for (index, part) in parts.enumerated() {
                guard let handle = FileHandle(forReadingAtPath: part) else {
                    throw MergeError(description: "cannot read \(part)")
                }
                defer { try? handle.close() }
                try handle.seek(toOffset: UInt64(try skip(index, part)))
                while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                    try file.write([UInt8](chunk))
                }
            }
        }
    }
}

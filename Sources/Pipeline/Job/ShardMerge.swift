import Checkpoint
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Joins the outputs and rejects of a plan's shards into one output and one rejects file, once
/// every shard's checkpoint says it is complete, belongs to this plan and ran the same job as the
/// others, and every shard's files are the ones its checkpoint committed (same file, same length);
/// and adds up their books over the whole input. Nothing is written while any shard is missing,
/// unfinished, another's or altered.
public struct ShardMerge {
    public let plan: ShardPlan
    /// The merged output: the shards' outputs are named after it (``ShardPlan/shardPath(output:index:)``).
    public let output: String
    public let rejects: String
    /// The checkpoint the shards were given (each used it named after its shard), if not the default.
    public let checkpoint: String?

    public init(plan: ShardPlan, output: String, rejects: String? = nil, checkpoint: String? = nil) {
        self.plan = plan
        self.output = output
        self.rejects = rejects ?? output + ".rejects.csv"
        self.checkpoint = checkpoint
    }

    /// One shard's files and what its checkpoint says.
    public struct ShardFiles: Sendable {
        public var shard: ShardPlan.Shard
        public var output: String
        public var rejects: String
        public var checkpoint: String
        public var summary: CheckpointSummary?
        /// Why the shard cannot be merged (missing, unfinished, another plan's or job's, its
        /// files altered), if it cannot.
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

    /// Why `merge` wrote nothing (``kind``), and in words.
    public struct MergeError: Error, Hashable, Sendable, CustomStringConvertible {
        public enum Kind: Sendable, Hashable {
            /// A shard is not finished, or its files are not the ones its checkpoint recorded.
            case shardsNotReady
            /// The shards' books do not add up to the plan's records.
            case unbalanced
            /// A part could not be read, or changed or ended early while merge read it.
            case partChanged
            /// The shards wrote a table: there is nothing to join.
            case tableOutput
        }
        public var kind: Kind
        public var description: String
    }

    /// Each shard's files and state: what `status --plan` shows, and what `merge` checks.
    public func shards() -> [ShardFiles] {
        var files = plan.shards.map(inspect)
        // Every shard must have run the same job (but for its shard): a shard run with fewer
        // mapped fields leaves card data in plaintext in its part of the merged output.
        if let reference = files.first(where: { $0.summary != nil }) {
            for index in files.indices where files[index].problem == nil {
                guard let summary = files[index].summary else { continue }
                let differences = Self.jobDifferences(reference.summary!.identity, summary.identity)
                if !differences.isEmpty {
                    files[index].problem = "it ran another job than shard \(reference.shard.index): " + differences.joined(separator: "; ")
                }
            }
        }
        return files
    }

    /// What differs between two shards' jobs, apart from the shard and the input's path and time.
    static func jobDifferences(_ reference: JobIdentity, _ other: JobIdentity) -> [String] {
        var left = reference
        var right = other
        left.options["shard"] = nil
        right.options["shard"] = nil
        right.inputPath = left.inputPath
        right.input.modified = left.input.modified
        return left.differences(from: right)
    }

    /// Whether the shards write a table (in place or a new one): nothing to join, each shard's rows
    /// committed into it with its progress row.
    public var writesTable: Bool { PostgresSettings.isURL(output) }

    private func inspect(_ shard: ShardPlan.Shard) -> ShardFiles {
        // A table output's own files are named after the table, in the working folder.
        let base = writesTable ? ((try? TableOutputNames.base(output)) ?? "table") : output
        let named = ShardPlan.shardPath(output: base, index: shard.index)
        let output = writesTable ? self.output : named
        let checkpoint = self.checkpoint.map { ShardPlan.shardPath(output: $0, index: shard.index) } ?? CheckpointStore.defaultPath(forOutput: named)
        var files = ShardFiles(shard: shard, output: output, rejects: named + ".rejects.csv", checkpoint: checkpoint)
        guard FileManager.default.fileExists(atPath: checkpoint) else {
            files.problem = "not started (no checkpoint \(checkpoint))"
            return files
        }
        let summary: CheckpointSummary
        do {
            summary = try CheckpointStore.summary(path: checkpoint)
        } catch {
            files.problem = "its checkpoint cannot be read: \(error)"
            return files
        }
        files.summary = summary
        if let path = summary.files?["rejects"]?.path { files.rejects = path }
        let identity = summary.identity
        let committed = Self.accounted(summary)
        if identity.options["shard"] != Self.shardOption(shard, of: plan.shards.count, table: plan.input.table != nil)
            || identity.input.size != plan.input.size || identity.input.digest != plan.input.digest
        {
            files.problem = "its checkpoint belongs to another plan or input (\(identity.options["shard"] ?? "not a shard"))"
        } else if !summary.complete {
            files.problem = "not finished: \(max(0, summary.recordsCommitted - shard.firstSeq)) of \(shard.records) records committed; run the shard again to resume"
        } else if summary.transient > 0 {
            files.problem = "finished with \(summary.transient) records that failed transiently; run the shard again to send them"
        } else if plan.input.table == nil, committed != shard.records || (shard.records > 0 && summary.recordsCommitted != shard.endSeq) {
            // (A table's shard is its key range: rows inserted or deleted since the plan change its count.)
            files.problem = "its checkpoint accounts for \(committed) records through record \(summary.recordsCommitted), not the plan's \(shard.records) through record \(shard.endSeq)"
        } else if let problem = (writesTable ? nil : checkFile(files.output, name: "output", committed: summary.commitPoint?.outputOffset, summary: summary))
            ?? checkFile(files.rejects, name: "rejects", committed: summary.commitPoint?.rejectsOffset, summary: summary)
        {
            files.problem = problem
        }
        return files
    }

    /// The records a shard's checkpoint accounts for, whatever became of them.
    static func accounted(_ summary: CheckpointSummary) -> Int {
        summary.done + summary.rejected + summary.outcomeUnknown + summary.transient
    }

    /// Whether the file at `path` is the one the shard's checkpoint recorded and committed: a
    /// regular file (not a symlink), the same device and inode, exactly the committed length.
    private func checkFile(_ path: String, name: String, committed: Int64?, summary: CheckpointSummary) -> String? {
        guard let committed else { return "its \(name) \(path) was never committed" }
        return OutputFile.problem(atPath: path, committed: committed, expected: summary.files?[name]?.identity, streams: false)
            .map { "its \(name): \($0): it is not what the shard committed" }
    }

    /// What a shard's checkpoint identity says of it (``BatchJob/identity()``).
    public static func shardOption(_ shard: ShardPlan.Shard, of count: Int, table: Bool = false) -> String {
        let records = "\(shard.index) of \(count): records \(shard.firstSeq + 1) to \(shard.endSeq)"
        guard table else { return records }
        // A table's shard is its key range (its record numbers are the plan's count).
        return records + ", keys " + (shard.afterKey.map { "after \($0)" } ?? "from the start") + " " + (shard.throughKey.map { "through \($0)" } ?? "to the end")
    }

    /// Checks every shard, opens every file it joins, then writes the merged output and rejects
    /// (each to a temporary file, both renamed into place only once both are written, mode 0600)
    /// and returns the books; throws, naming every shard that is not ready, without writing anything.
    public func merge() throws -> Books {
        let shards = shards()
        let problems = shards.compactMap { files in files.problem.map { "shard \(files.shard.index): \($0)" } }
        guard problems.isEmpty else {
            throw MergeError(kind: .shardsNotReady, description: "cannot merge: " + problems.joined(separator: "; "))
        }
        if writesTable {
            throw MergeError(
                kind: .tableOutput,
                description: "nothing to merge: each shard wrote its rows into \(output) itself, in the same transactions as its progress rows; every shard is complete"
            )
        }
        var books = Books(records: plan.records)
        // A table's shards read their key ranges as they stood when each ran: their books are the whole.
        if plan.input.table != nil { books.records = shards.reduce(0) { total, files in total + Self.accounted(files.summary!) } }
        for files in shards {
            let summary = files.summary!
            books.done += summary.done
            books.outcomeUnknown += summary.outcomeUnknown
            books.transient += summary.transient
            for (code, count) in summary.rejectedByErrorCode { books.rejectedByErrorCode[code, default: 0] += count }
        }
        guard books.balance else {
            throw MergeError(kind: .unbalanced, description: "cannot merge: the shards' books do not add up to the plan's \(plan.records) records")
        }
        // Everything opened (and checked once more, through the descriptors) before a byte is written.
        let delimiter = try JobConfiguration.delimiterByte(plan.input.delimiter)
        var outputs: [Part] = []
        var rejectParts: [Part] = []
        for (index, files) in shards.enumerated() {
            let summary = files.summary!
            var output = try Part(path: files.output, shard: files.shard.index, expected: summary.files?["output"]?.identity, length: summary.commitPoint?.outputOffset)
            // The header once: every shard after the first from its first data record.
            if index > 0, plan.input.format == .csv, plan.input.header ?? true {
                output.skip = try CSVReader(path: files.output, delimiter: delimiter).header.dataStart.offset
            }
            outputs.append(output)
            var rejects = try Part(path: files.rejects, shard: files.shard.index, expected: summary.files?["rejects"]?.identity, length: summary.commitPoint?.rejectsOffset)
            if index > 0 { rejects.skip = min(rejects.length, Int64(RejectsRenderer.headerLine.count)) }
            rejectParts.append(rejects)
        }
        let mergedOutput = try AtomicFile.prepare(to: output, bufferLimit: 1 << 20) { file in try Self.join(outputs, into: file, named: output) }
        let mergedRejects = try AtomicFile.prepare(to: rejects, bufferLimit: 1 << 20) { file in try Self.join(rejectParts, into: file, named: rejects) }
        try mergedRejects.commit()
        try mergedOutput.commit()
        return books
    }

    /// A shard's file, open for reading: checked through its descriptor to be the file its
    /// checkpoint recorded, exactly as long as it committed.
    struct Part {
        var handle: FileHandle
        var path: String
        var length: Int64
        var skip: Int64 = 0

        init(path: String, shard: Int, expected: FileIdentity?, length: Int64?) throws {
            let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
            guard descriptor >= 0 else {
                throw MergeError(kind: .partChanged, description: "cannot merge: shard \(shard): cannot read \(path): \(String(cString: strerror(errno)))")
            }
            handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
            var info = stat()
            guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG,
                expected.map({ $0 == FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino)) }) ?? true,
                let length, Int64(info.st_size) == length
            else {
                throw MergeError(kind: .partChanged, description: "cannot merge: shard \(shard): \(path) changed while merge was checking it")
            }
            self.path = path
            self.length = length
        }
    }

    /// Copies each part's committed bytes after its `skip` into `file`, compressed as `name` says.
    /// A gzip part (a shard's output named `.gz`) is inflated first, its `skip` counted in the
    /// inflated bytes: shards' files are joined by their contents, whatever their compression.
    static func join(_ parts: [Part], into file: OutputFile, named name: String) throws {
        let sink: any OutputSink = OutputCompression.of(path: name) == .gzip ? try GzipOutputFile(file: file) : file
        for part in parts {
            if InputCompression.of(fd: part.handle.fileDescriptor) == .gzip {
                try joinInflated(part, into: sink)
                continue
            }
            try part.handle.seek(toOffset: UInt64(part.skip))
            var left = part.length - part.skip
            while left > 0, let chunk = try part.handle.read(upToCount: Int(min(left, 1 << 20))), !chunk.isEmpty {
                try sink.write([UInt8](chunk))
                left -= Int64(chunk.count)
            }
            guard left == 0 else { throw MergeError(kind: .partChanged, description: "cannot merge: \(part.path) ended early while it was copied") }
        }
        // (A gzip file's last member ends.)
        try sink.sync()
    }

    /// A gzip part's contents after its `skip` (the part's length was checked: it is the whole file).
    private static func joinInflated(_ part: Part, into sink: any OutputSink) throws {
        try part.handle.seek(toOffset: 0)
        let inflater: GzipInflater
        do {
            inflater = try GzipInflater(fd: part.handle.fileDescriptor)
        } catch {
            throw MergeError(kind: .partChanged, description: "cannot merge: \(part.path): \(error)")
        }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var position: Int64 = 0
        while true {
            let count: Int
            do {
                count = try buffer.withUnsafeMutableBytes { try inflater.read(into: $0.baseAddress!, capacity: $0.count) }
            } catch {
                throw MergeError(kind: .partChanged, description: "cannot merge: \(part.path): \(error)")
            }
            guard count > 0 else { break }
            let from = Int(max(0, min(Int64(count), part.skip - position)))
            if from < count { try sink.write(Array(buffer[from..<count])) }
            position += Int64(count)
        }
    }
}

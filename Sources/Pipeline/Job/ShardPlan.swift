import Checkpoint
import Foundation

/// How a job's input is cut into shards that run as processes of their own (a Kubernetes
/// Indexed Job, an AWS Batch array job): for each shard, where its first record starts and how
/// many records it has, found by the streaming reader (so a quoted line break never cuts a
/// record); and the input's identity, so that a shard refuses another file. Written by
/// `batch-tokenize plan`, read by `run --plan`, `merge --plan` and `status --plan`.
public struct ShardPlan: Codable, Sendable, Hashable {
    /// Version 2: each shard carries a keyed digest of its boundary (``Shard/boundary``).
    public static let currentVersion = 2
    /// The most shards a plan may have.
    public static let maximumShards = 100_000

    public struct Shard: Codable, Sendable, Hashable {
        public var index: Int
        /// The seq (in the whole input, from 0) of the shard's first record, the byte offset
        /// where it starts, and its 1-based line number.
        public var firstSeq: Int
        public var offset: Int64
        public var line: Int
        public var records: Int
        /// A keyed digest (``DigestKey``) of the shard's numbers and of the input's bytes around
        /// its offset (``ShardBoundary``): a run refuses a shard whose plan was edited or whose
        /// input changed there, rather than start mid-record.
        public var boundary: String
        /// A gzip input of several members: the last member that starts at or before the bytes
        /// ``boundary`` covers, where the shard's reading starts inflating (absent: at the start).
        public var member: GzipMember?
        /// A table input: the shard reads the rows whose key is after `afterKey` (absent: from the
        /// table's start) and at most `throughKey` (absent: to its end), in the key's order;
        /// ``records`` is how many there were when the plan was made.
        public var afterKey: String?
        public var throughKey: String?

        public init(index: Int, firstSeq: Int, offset: Int64, line: Int, records: Int, boundary: String = "") {
            self.index = index
            self.firstSeq = firstSeq
            self.offset = offset
            self.line = line
            self.records = records
            self.boundary = boundary
        }

        /// Where the shard's reading starts.
        public var start: RecordPosition { RecordPosition(seq: firstSeq, offset: offset, line: line) }
        /// The seq after its last record.
        public var endSeq: Int { firstSeq + records }
    }

    /// The input the plan was made for: its path as given, its format, and what identifies its
    /// content whatever its inode (a copy on another volume is the same input): its size and a
    /// keyed digest of its first and last MiB (``DigestKey``, from the API key).
    public struct Input: Codable, Sendable, Hashable {
        public var path: String
        public var format: InputFormat
        public var delimiter: String
        public var size: Int64
        public var digest: String
        /// CSV: `false` for a file without a header row (absent: it has one).
        public var header: Bool?
        /// `gzip` for a gzip input, whose offsets are in what it inflates to (`inflatedSize` bytes).
        public var compression: String?
        public var inflatedSize: Int64?
        /// A table input (``path`` its URL, without a password): the relation as PostgreSQL names
        /// it, and a keyed digest of its columns and their types when the plan was made (``size``
        /// is -1 and ``digest`` what a job's identity holds for the table).
        public var table: String?
        public var definition: String?

        public init(path: String, format: InputFormat, delimiter: String, size: Int64, digest: String) {
            self.path = path
            self.format = format
            self.delimiter = delimiter
            self.size = size
            self.digest = digest
        }
    }

    public var version: Int
    public var input: Input
    /// Data records in the whole input (the header is not one).
    public var records: Int
    public var shards: [Shard]

    public init(version: Int = ShardPlan.currentVersion, input: Input, records: Int, shards: [Shard]) {
        self.version = version
        self.input = input
        self.records = records
        self.shards = shards
    }

    public struct PlanError: Error, CustomStringConvertible {
        public enum Kind: Sendable, Hashable {
            /// The plan is misshapen (numbering, offsets, sums, version).
            case invalid
            /// The plan or the input cannot be read.
            case unreadable
            /// No shard was named, or not one of the plan's.
            case noSuchShard
            /// The input is not the one the plan was made for (its fingerprint or a shard's
            /// boundary differs, or it ends early): make the plan again.
            case inputChanged
        }

        public var kind: Kind
        public var description: String

        public init(_ kind: Kind, _ description: String) {
            self.kind = kind
            self.description = description
        }

        /// A misshapen plan, in words.
        public init(_ description: String) { self.init(.invalid, description) }
    }

    /// Reads the input once, with the streaming reader, and cuts it into `shards` shards of as
    /// nearly equal record counts as its samples allow (in constant memory: see ``BoundarySampler``).
    /// A gzip input is read once more for its members (`members`, when the caller has them).
    public static func make(
        path: String, format: InputFormat, delimiter: UInt8, shards: Int, key: DigestKey, samples: Int = BoundarySampler.defaultCapacity,
        hasHeader: Bool = true, members scanned: (members: [GzipMember], inflatedSize: Int64)? = nil
    ) throws -> ShardPlan {
        guard shards >= 1 else { throw PlanError("a plan has at least one shard") }
        var (reader, _) = try InputSource.open(path: path, format: format, delimiter: delimiter, hasHeader: hasHeader)
        var sampler = BoundarySampler(capacity: samples)
        while let record = try reader.next() {
            sampler.add(record.position)
        }
        let end = reader.nextPosition
        let fingerprint = try InputFingerprint.of(path: path, key: key)
        var input = Input(
            path: path, format: format, delimiter: String(UnicodeScalar(delimiter)), size: fingerprint.size, digest: fingerprint.digest
        )
        if !hasHeader && format == .csv { input.header = false }
        // A gzip input: offsets are in what it inflates to; its members are where shards may
        // start inflating.
        var members: [GzipMember] = []
        if InputCompression.of(path: path) == .gzip {
            let scanned = try scanned ?? GzipMember.scan(path: path)
            members = scanned.members
            input.compression = InputCompression.gzip.rawValue
            input.inflatedSize = scanned.inflatedSize
        }
        let starts = sampler.starts(shards: shards, end: end)
        let boundaries = try ShardBoundary(path: path, key: key, inflatedSize: input.inflatedSize)
        let cut = try starts.indices.map { index in
            let start = starts[index]
            let next = index + 1 < starts.count ? starts[index + 1].seq : sampler.count
            var shard = Shard(index: index, firstSeq: start.seq, offset: start.offset, line: start.line, records: next - start.seq)
            // The last member before the bytes its boundary digest reads, if not the first.
            let from = max(0, start.offset - ShardBoundary.reach)
            shard.member = members.last { $0.inflatedOffset <= from }.flatMap { $0.inflatedOffset > 0 ? $0 : nil }
            shard.boundary = try boundaries.digest(of: shard)
            return shard
        }
        let plan = ShardPlan(input: input, records: sampler.count, shards: cut)
        try plan.validate()
        return plan
    }

    /// Checks that the plan is one that `plan` could have written: shards numbered from 0,
    /// contiguous and in order (each starts where the one before ends, by seq and by offset),
    /// within the input, with counts that add up to the whole without overflowing. (That the
    /// numbers are the ones `plan` wrote, over this input, is ``checkBoundaries(of:path:key:)``'s.)
    public func validate() throws {
        guard !shards.isEmpty, shards.count <= Self.maximumShards else {
            throw PlanError("the plan must have 1 to \(Self.maximumShards) shards, not \(shards.count)")
        }
        if input.table != nil { return try validateKeyRanges() }
        guard input.size >= 0, records >= 0 else { throw PlanError("the plan's input size and record count cannot be negative") }
        var nextSeq = 0
        var lastOffset: Int64 = 0
        var lastLine = 1
        for (position, shard) in shards.enumerated() {
            let name = "shard \(position)"
            guard shard.index == position else { throw PlanError("the plan's shards are not numbered 0 to \(shards.count - 1) in order (\(name) says \(shard.index))") }
            guard shard.records >= 0 else { throw PlanError("\(name) has a negative record count") }
            guard shard.firstSeq == nextSeq else {
                throw PlanError("\(name) starts at record \(shard.firstSeq + 1), not where the shard before it ends (record \(nextSeq + 1))")
            }
            let size = input.inflatedSize ?? input.size
            guard shard.offset >= lastOffset, shard.offset <= size, position > 0 || shard.offset >= 0 else {
                throw PlanError("\(name) starts at byte \(shard.offset): not after the shard before it and within the input's \(size) bytes")
            }
            if let member = shard.member {
                guard input.compression != nil, member.inflatedOffset >= 0, member.inflatedOffset <= max(0, shard.offset - ShardBoundary.reach),
                    member.compressedOffset >= 0, member.compressedOffset <= input.size
                else { throw PlanError("\(name)'s gzip member (compressed byte \(member.compressedOffset)) is not in the input before its start") }
            }
            guard shard.line >= lastLine else { throw PlanError("\(name) starts at line \(shard.line), before the shard before it") }
            let (end, overflow) = nextSeq.addingReportingOverflow(shard.records)
            guard !overflow, end <= records else {
                throw PlanError("\(name)'s records go past the plan's \(records) records")
            }
            nextSeq = end
            lastOffset = shard.offset
            lastLine = shard.line
        }
        guard nextSeq == records else { throw PlanError("the shards' records add up to \(nextSeq), not the plan's \(records)") }
    }

    /// Checks shard `index`'s boundaries, its start and the next shard's (its end), against the
    /// file at `path`: each must be the keyed digest the plan holds, so that the shard starts and
    /// ends at a record boundary of this input that `plan` found.
    public func checkBoundaries(of index: Int, path: String, key: DigestKey) throws {
        if input.table != nil { return try checkKeyRange(of: index, key: key) }
        let boundaries = try ShardBoundary(path: path, key: key, inflatedSize: input.inflatedSize)
        for shard in shards[index...].prefix(2) {
            guard try boundaries.digest(of: shard) == shard.boundary else {
                throw PlanError(
                    .inputChanged,
                    "\(path) is not the input this plan was made for at shard \(shard.index)'s start (byte \(shard.offset), record \(shard.firstSeq + 1)): "
                        + "the file changed there since the plan was made, or the plan was edited (or another API key made it); make the plan again"
                )
            }
        }
    }

    /// For a gzip input, the inflated bytes each shard reads and drops before its first record
    /// (from its member's start, or the file's).
    public var inflatedBeforeShards: [Int64]? {
        guard input.compression != nil else { return nil }
        return shards.map { $0.records == 0 ? 0 : $0.offset - ($0.member?.inflatedOffset ?? 0) }
    }

    /// Where the records of shard `index` end: the next shard's start that has records, or `nil`
    /// when the input ends after them.
    public func endOffset(of index: Int) -> Int64? {
        // A table's shard ends at its last key, however many rows its range holds by then.
        if input.table != nil { return nil }
        return shards[(index + 1)...].first { $0.records > 0 }?.offset
    }

    /// The plan in a file written by ``write(to:)``; refuses another version.
    public static func read(path: String) throws -> ShardPlan {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw PlanError(.unreadable, "cannot read the plan \(path): \(error.localizedDescription)")
        }
        let plan: ShardPlan
        do {
            plan = try JSONDecoder().decode(ShardPlan.self, from: data)
        } catch {
            throw PlanError("\(path) is not a plan written by batch-tokenize plan: \(error)")
        }
        guard plan.version == currentVersion else {
            throw PlanError("\(path) is a plan of version \(plan.version); this batch-tokenize reads version \(currentVersion): make the plan again")
        }
        do {
            try plan.validate()
        } catch let error as PlanError {
            throw PlanError("\(path) is not a usable plan: \(error.description)")
        }
        return plan
    }

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    /// The output of shard `index` for a job whose merged output is `output`: `.shard-INDEX`
    /// before the extension (`cards.out.csv` → `cards.out.shard-3.csv`), or after a name without
    /// one. Its rejects and checkpoint are named after it, as any output's are.
    public static func shardPath(output: String, index: Int) -> String {
        let slash = output.lastIndex(of: "/").map { output.index(after: $0) } ?? output.startIndex
        guard let dot = output[slash...].lastIndex(of: "."), dot > slash else { return output + ".shard-\(index)" }
        return output[..<dot] + ".shard-\(index)" + output[dot...]
    }

    /// The shard a process runs: `--shard` when given, else the index of a Kubernetes Indexed
    /// Job's pod (`JOB_COMPLETION_INDEX`), else of an AWS Batch array job's child
    /// (`AWS_BATCH_JOB_ARRAY_INDEX`).
    public func shardIndex(option: Int?, environment: [String: String]) throws -> Int {
        let (index, source): (Int?, String)
        if let option {
            (index, source) = (option, "--shard")
        } else if let text = environment["JOB_COMPLETION_INDEX"] {
            (index, source) = (Int(text), "JOB_COMPLETION_INDEX")
        } else if let text = environment["AWS_BATCH_JOB_ARRAY_INDEX"] {
            (index, source) = (Int(text), "AWS_BATCH_JOB_ARRAY_INDEX")
        } else {
            throw PlanError(.noSuchShard, "which shard? give --shard INDEX (or run as a Kubernetes Indexed Job or an AWS Batch array job)")
        }
        guard let index, shards.indices.contains(index) else {
            throw PlanError(.noSuchShard, "\(source) must be a shard of the plan, 0 to \(shards.count - 1)")
        }
        return index
    }

    /// Whether the file at `path` is the plan's input (same size, same keyed digest); the
    /// difference when it is not.
    public func checkInput(path: String, key: DigestKey) throws {
        // A table's plan is checked against the table by the run that reads it (``checkTable``).
        if input.table != nil { return }
        let fingerprint = try InputFingerprint.of(path: path, key: key)
        if fingerprint.size != input.size {
            throw PlanError(.inputChanged, "\(path) is not the input of this plan: \(fingerprint.size) bytes, the plan's input had \(input.size)")
        }
        if fingerprint.digest != input.digest {
            throw PlanError(.inputChanged, "\(path) is not the input of this plan: its first or last MiB differs (or another API key made the plan)")
        }
    }
}

/// The starts of records seen in order, sampled in constant memory: every `stride`-th record's
/// position is kept, and when the samples outgrow their capacity every other one is dropped and
/// the stride doubles. Shard boundaries are then accurate to a stride: `count / capacity`
/// records at most (about 4,600 records a shard boundary may be off by for 300 million records
/// and the default capacity; the shards stay within a percent of each other).
public struct BoundarySampler: Sendable {
    public static let defaultCapacity = 1 << 16

    public let capacity: Int
    public private(set) var stride = 1
    public private(set) var samples: [RecordPosition] = []
    /// Records seen.
    public private(set) var count = 0

    public init(capacity: Int = defaultCapacity) {
        self.capacity = max(2, capacity)
    }

    /// The next record's start (its seq must be the one after the last seen).
    public mutating func add(_ position: RecordPosition) {
        if count % stride == 0 {
            samples.append(position)
            if samples.count > capacity {
                samples = samples.enumerated().compactMap { $0.offset % 2 == 0 ? $0.element : nil }
                stride *= 2
            }
        }
        count += 1
    }

    /// Where each of `shards` shards starts: the sampled record nearest to an equal share of the
    /// records (the first at the first record); shards past the last record (more shards than
    /// records) start at `end` and are empty. Starts never go back.
    public func starts(shards: Int, end: RecordPosition) -> [RecordPosition] {
        var starts: [RecordPosition] = []
        for index in 0..<shards {
            let target = Int((Double(index) * Double(count) / Double(shards)).rounded())
            guard target < count, !samples.isEmpty else {
                starts.append(end)
                continue
            }
            let nearest = min(samples.count - 1, Int((Double(target) / Double(stride)).rounded()))
            var start = samples[nearest]
            if let last = starts.last, start.seq < last.seq { start = last }
            starts.append(start)
        }
        return starts
    }
}

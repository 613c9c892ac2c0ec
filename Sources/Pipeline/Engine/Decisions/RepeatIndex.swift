import Checkpoint

/// What a deduplicating job (`--dedup`) knows of the values it has sent: for a record's keyed
/// digest (all its mapped values: the same digest, the same request), the answer an earlier
/// record got (kept for the most recent digests, in bounded memory; the checkpoint keeps every
/// one), or the earlier record whose request is in flight and the records waiting for it.
/// Pure: the driver asks the checkpoint when memory does not know a digest, sends what leads,
/// and finishes what follows.
struct RepeatIndex {
    /// The most recent answers, in two generations of at most `capacity` each: a digest found
    /// in the older one moves to the newer; when the newer is full the older is dropped.
    private var recent: [RecordDigest: ResultTexts] = [:]
    private var older: [RecordDigest: ResultTexts] = [:]
    private let capacity: Int
    /// The record whose request stands for each digest in flight, and the records waiting for
    /// it (in input order).
    private var leaders: [RecordDigest: Int] = [:]
    private var waiting: [Int: [Int]] = [:]
    /// Every digest with a kept answer (this run's and, once loaded, earlier runs'): the
    /// checkpoint is asked only for a digest that may be there.
    private var kept = DigestFilter()

    init(capacity: Int = 12_288) {
        self.capacity = max(1, capacity)
    }

    /// A record of `digest` read now.
    enum Lookup: Equatable {
        /// An earlier record's answer: the record takes it, nothing is sent.
        case answered(ResultTexts)
        /// An earlier record with the same values is in flight: the record waits for it.
        case waits(for: Int)
        /// Not known here (the checkpoint may know it).
        case unknown
    }

    mutating func lookup(_ digest: RecordDigest, seq: Int) -> Lookup {
        if let leader = leaders[digest] {
            waiting[leader, default: []].append(seq)
            return .waits(for: leader)
        }
        if let texts = recent[digest] { return .answered(texts) }
        if let texts = older.removeValue(forKey: digest) {
            remember(digest, texts)
            return .answered(texts)
        }
        return .unknown
    }

    /// The record `seq` is sent for `digest`: later records with the same values wait for it.
    mutating func lead(_ digest: RecordDigest, seq: Int) {
        leaders[digest] = seq
    }

    /// The checkpoint keeps an answer for `digest` (an earlier run's).
    mutating func noteKept(_ digest: RecordDigest) {
        kept.insert(digest)
    }

    /// Whether the checkpoint may keep an answer for `digest` (`false`: surely not).
    func mayBeKept(_ digest: RecordDigest) -> Bool {
        kept.mayContain(digest)
    }

    /// An answer known for `digest` (the checkpoint's): kept for the records after it.
    mutating func remember(_ digest: RecordDigest, _ texts: ResultTexts) {
        kept.insert(digest)
        if recent.count >= capacity {
            older = recent
            recent = [:]
            recent.reserveCapacity(capacity)
        }
        recent[digest] = texts
    }

    /// What becomes of the records waiting for a leader that finished.
    struct Release: Equatable {
        /// They take this answer (`nil`: the leader did not get one).
        var texts: ResultTexts?
        var followers: [Int]
    }

    /// The leader `seq` of `digest` finished: done with `texts`, or not done (`nil`: refused,
    /// transient, unknown). Its followers are released; a done answer is remembered. With no
    /// answer, the caller sends the first follower in its place (``lead(_:seq:)``) and has the
    /// others wait for it (``wait(_:for:)``), or finishes them.
    mutating func finished(_ digest: RecordDigest, seq: Int, texts: ResultTexts?) -> Release? {
        guard leaders[digest] == seq else { return nil }
        leaders.removeValue(forKey: digest)
        if let texts { remember(digest, texts) }
        guard let followers = waiting.removeValue(forKey: seq) else { return nil }
        return Release(texts: texts, followers: followers)
    }

    /// `followers` wait for `leader` (a follower sent in place of a leader that got no answer).
    mutating func wait(_ followers: ArraySlice<Int>, for leader: Int) {
        guard !followers.isEmpty else { return }
        waiting[leader, default: []].append(contentsOf: followers)
    }

    /// Records in flight for a digest (for tests and the end of a run).
    var leaderCount: Int { leaders.count }
}

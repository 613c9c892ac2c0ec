#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The layout of a success answer, learned from one and matched against the next: a server
/// writes every answer of a job the same way, with only the traceId, messageId, bfid and the
/// values' texts changing. An answer that is the learned one's bytes with other plain texts in
/// those places (no escape, no quote, no control character in them) says the same things in the
/// same places, so its ``Response`` is read by comparing the constant bytes and copying the texts:
/// no key looked up, no token classified. Anything else (another layout, an escape, a number, a
/// failure) does not match, and the general decoder (``Response/decode(_:recurring:traceIds:counter:reusing:)``)
/// reads it as before.
///
/// Only the usual layout is learned: an object with `traceId`, `action`, `messageId`, `success:
/// true` and `payload` (`bfid`, and `values` as `{"name": ..., "value": ...}` objects), each key
/// once and every text plain. ``learn(from:traceIds:)`` checks what it learned against the
/// general decoder on the answer it learned from, and keeps nothing when the two disagree.
struct ResponseShape {
    /// What the texts of the answer are, in the order they come, with the entries the general
    /// decoder writes between them (``ResponseTexts``).
    enum Step: Equatable {
        case traceId
        case messageId
        case bfid
        /// The values array starts (no text of its own).
        case startValues
        /// An element's name: the learned bytes (no text of its own: they are constant).
        case name(Int)
        case value
    }

    private let steps: [Step]
    /// The bytes before each text, and after the last one (`constants.count == texts + 1`).
    private let constants: [[UInt8]]
    private let names: [[UInt8]]
    let action: String?

    /// Learns the layout of `message` if it is the usual success answer to a request of ours
    /// (its traceId is one of `traceIds`'), and the general decoder reads the same from it.
    static func learn(from message: UnsafeRawBufferPointer, traceIds: TraceIDGenerator) -> ResponseShape? {
        var learner = Learner(message)
        guard let shape = try? learner.learn() else { return nil }
        var counter: UInt64?
        var recurring: RecurringStrings? = RecurringStrings()
        var spare = ResponseTexts()
        guard let general = try? Response.decode(message, recurring: &recurring, traceIds: traceIds, counter: &counter, reusing: &spare),
              counter != nil
        else { return nil }
        var texts = ResponseTexts()
        guard let matched = shape.match(message, traceIds: traceIds, reusing: &texts),
              matched.counter == counter, matched.response == general, matched.response.texts.log == general.texts.log
        else { return nil }
        return shape
    }

    /// The answer and the counter of its traceId when `message` has this layout; `nil` when it
    /// does not (or its traceId is not one of ours), for the general decoder. The texts are
    /// written into `spare` (emptied first, its capacity kept), which the response then holds.
    func match(_ message: UnsafeRawBufferPointer, traceIds: TraceIDGenerator, reusing spare: inout ResponseTexts) -> (response: Response, counter: UInt64)? {
        guard let base = message.baseAddress else { return nil }
        var index = 0
        var text = 0
        var counter: UInt64?
        var texts = ResponseTexts()
        swap(&texts, &spare)
        texts.removeAll()
        texts.reserveCapacity(message.count)
        // Puts the buffer back on every way out, matched or not.
        defer { swap(&texts, &spare) }
        func constant(_ bytes: [UInt8]) -> Bool {
            guard bytes.count <= message.count - index else { return false }
            let same = bytes.withUnsafeBytes { memcmp(base + index, $0.baseAddress!, $0.count) == 0 }
            index += bytes.count
            return same
        }
        for step in steps {
            switch step {
            case .startValues:
                texts.startValues(present: true)
                continue
            case .name(let name):
                names[name].withUnsafeBytes { texts.append(.name, $0) }
                continue
            case .traceId, .messageId, .bfid, .value:
                break
            }
            guard constant(constants[text]) else { return nil }
            text += 1
            // A plain text up to its closing quote, which the next constant starts with.
            let start = index
            index = JSONStringBytes.firstSpecial(in: message, from: start)
            guard index < message.count, message[index] == UInt8(ascii: "\"") else { return nil }
            let bytes = UnsafeRawBufferPointer(rebasing: message[start..<index])
            switch step {
            case .traceId:
                guard let recognized = traceIds.counter(ofUTF8: bytes) else { return nil }
                counter = recognized
            case .messageId: texts.append(.messageId, bytes)
            case .bfid: texts.append(.bfid, bytes)
            default: texts.append(.value, bytes)
            }
        }
        guard constant(constants[text]), index == message.count, let counter else { return nil }
        var response = Response(traceId: "", action: action, success: true)
        swap(&response.texts, &texts)
        return (response, counter)
    }

    init(steps: [Step], constants: [[UInt8]], names: [[UInt8]], action: String?) {
        self.steps = steps
        self.constants = constants
        self.names = names
        self.action = action
    }

    struct NotLearnable: Error {}

    /// Reads the usual layout with the scanner, noting where each text is; throws for anything else.
    private struct Learner {
        let message: UnsafeRawBufferPointer
        var steps: [Step] = []
        var texts: [Range<Int>] = []
        var names: [[UInt8]] = []
        var action: String?

        init(_ message: UnsafeRawBufferPointer) { self.message = message }

        mutating func learn() throws -> ResponseShape {
            var scanner = JSONScanner(message)
            var seen: Set<String> = []
            var success = false
            try scanner.readObjectKeys { scanner, key in
                guard seen.insert(key.string).inserted else { throw NotLearnable() }
                switch key.string {
                case "traceId": try text(&scanner, .traceId)
                case "messageId": try text(&scanner, .messageId)
                case "action": action = String(decoding: message[try plain(&scanner)], as: UTF8.self)
                case "success":
                    guard try scanner.peek() == .bool, try scanner.readBool() else { throw NotLearnable() }
                    success = true
                case "payload": try payload(&scanner)
                default: throw NotLearnable()
                }
            }
            try scanner.expectEnd()
            guard success, steps.contains(.traceId) else { throw NotLearnable() }
            var constants: [[UInt8]] = []
            var end = 0
            for range in texts {
                constants.append(Array(message[end..<range.lowerBound]))
                end = range.upperBound
            }
            constants.append(Array(message[end...]))
            return ResponseShape(steps: steps, constants: constants, names: names, action: action)
        }

        private mutating func payload(_ scanner: inout JSONScanner) throws {
            guard try scanner.peek() == .objectStart else { throw NotLearnable() }
            var seen: Set<String> = []
            try scanner.readObjectKeys { scanner, key in
                guard seen.insert(key.string).inserted else { throw NotLearnable() }
                switch key.string {
                case "bfid": try text(&scanner, .bfid)
                case "values":
                    guard try scanner.peek() == .arrayStart else { throw NotLearnable() }
                    steps.append(.startValues)
                    try scanner.readArray { scanner in try element(&scanner) }
                default: throw NotLearnable()
                }
            }
        }

        /// `{"name": ..., "value": ...}`, in that order.
        private mutating func element(_ scanner: inout JSONScanner) throws {
            guard try scanner.peek() == .objectStart else { throw NotLearnable() }
            var keys = 0
            try scanner.readObjectKeys { scanner, key in
                keys += 1
                switch (keys, key.string) {
                case (1, "name"):
                    names.append(Array(message[try plain(&scanner)]))
                    steps.append(.name(names.count - 1))
                case (2, "value"): try text(&scanner, .value)
                default: throw NotLearnable()
                }
            }
            guard keys == 2 else { throw NotLearnable() }
        }

        /// A plain string (no escape): where its text is.
        private func plain(_ scanner: inout JSONScanner) throws -> Range<Int> {
            guard try scanner.peek() == .string else { throw NotLearnable() }
            let start = scanner.index + 1
            try scanner.skipValue()
            let end = scanner.index - 1
            guard JSONStringBytes.firstSpecial(in: message, from: start) == end else { throw NotLearnable() }
            return start..<end
        }

        /// A text that changes from answer to answer: where it is.
        private mutating func text(_ scanner: inout JSONScanner, _ step: Step) throws {
            texts.append(try plain(&scanner))
            steps.append(step)
        }
    }
}

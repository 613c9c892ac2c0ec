import Crypto
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import ShieldConex

/// The simulator's protocol brain, shared by all connections: answers one request message
/// with one response, exactly in the spec's shapes, and keeps the little state the protocol
/// needs (stored bfids for `tokenization-read`, rate-limit buckets, counters).
public final class SimulatorEngine: Sendable {
    struct StoredTokens {
        var values: [FieldValue]
    }

    struct State {
        var sequence: UInt64 = 0
        var stored: [String: StoredTokens] = [:]
        var buckets: [String: TokenBucket] = [:]
        var statistics = SimulatorStatistics()
        var queue: ServiceQueue?
    }

    public let configuration: SimulatorConfiguration
    private let templates: TemplateSet
    private let ciphers: [String: [String: TokenCipher]]
    private let identity: MessageIdentity
    private let state = NIOLockedValueBox(State())

    public init(configuration: SimulatorConfiguration) {
        self.configuration = configuration
        self.templates = configuration.templates
        let secret = SymmetricKey(data: SHA256.hash(data: Array(configuration.tokenSecret.utf8)))
        var ciphers: [String: [String: TokenCipher]] = [:]
        for (templateRef, template) in configuration.templates.templates {
            var fields: [String: TokenCipher] = [:]
            for (name, field) in template.fields {
                fields[name] = TokenCipher(secret: secret, templateRef: templateRef, field: name, kind: field.kind)
            }
            ciphers[templateRef] = fields
        }
        self.ciphers = ciphers
        self.identity = MessageIdentity(secret: secret)
        if let capacity = configuration.capacity {
            let (seconds, attoseconds) = configuration.processing.components
            let processing = TimeAmount.nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
            state.withLockedValue { $0.queue = ServiceQueue(capacity: capacity, processing: processing) }
        }
    }

    /// How long `response`'s answer waits for the service's capacity (``ServiceQueue``): zero
    /// without `--capacity`, for heartbeats and for throttled requests (refused before any work).
    func processingDelay(for response: Response, now: NIODeadline) -> TimeAmount {
        guard configuration.capacity != nil, response.action != Action.heartbeat.rawValue,
            response.failure?.code != configuration.throttleCode
        else { return .zero }
        return state.withLockedValue { state in
            let finish = state.queue!.admit(now: now)
            state.statistics.queuedForCapacity = state.queue!.queued
            return finish - now
        }
    }

    /// Whether `authorization` (the whole header value) carries an accepted key; returns the key.
    public func acceptedKey(authorization: String?) -> String? {
        guard let authorization else { return nil }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "basic" else { return nil }
        let key = parts[1].trimmingCharacters(in: .whitespaces)
        return configuration.keys.contains(key) ? key : nil
    }

    public var statistics: SimulatorStatistics { state.withLockedValue { $0.statistics } }

    func update(_ body: (inout SimulatorStatistics) -> Void) {
        state.withLockedValue { body(&$0.statistics) }
    }

    /// Counts a frame received on any connection; returns its number (from 1).
    func nextFrameNumber() -> Int {
        state.withLockedValue { state in
            state.statistics.framesReceived += 1
            return state.statistics.framesReceived
        }
    }

    /// Reserves a connection slot; `false` when `maxConnections` are open.
    func openConnection() -> Bool {
        state.withLockedValue { state in
            if let limit = configuration.maxConnections, state.statistics.connectionsOpen >= limit {
                state.statistics.handshakesRefused += 1
                return false
            }
            state.statistics.connectionsOpen += 1
            state.statistics.connectionsAccepted += 1
            state.statistics.peakConnections = max(state.statistics.peakConnections, state.statistics.connectionsOpen)
            return true
        }
    }

    func closeConnection() {
        update { $0.connectionsOpen -= 1 }
    }

    /// Answers one request message. `faultRoll` is a uniform draw in 0..<1 for error injection.
    public func respond(to message: ByteBuffer, key: String, faultRoll: Double, now: Date = Date()) -> Response {
        let incoming: IncomingRequest
        do {
            incoming = try IncomingRequest.decode(message)
        } catch {
            return failure(traceId: "", action: nil, .malformedMessage, "Malformed message: \(error)")
        }
        guard let traceId = incoming.traceId else {
            return failure(traceId: "", action: incoming.actionName, .missingTraceId, "Missing traceId")
        }
        guard traceId.utf8.count <= 255 else {
            return failure(traceId: "", action: incoming.actionName, .missingTraceId, "traceId longer than 255 characters")
        }
        guard let request = incoming.request else {
            count(action: "invalid")
            return failure(traceId: traceId, action: incoming.actionName, .unknownAction,
                           incoming.actionName == nil ? "Missing action" : "Unknown action")
        }
        let action = request.action.rawValue
        count(action: action)
        if request.action != .heartbeat {
            if let rate = configuration.rateLimit, !takeRateToken(key: key, rate: rate) {
                return failure(traceId: traceId, action: action, configuration.throttleCode, "Rate limit exceeded")
            }
            if faultRoll < configuration.errorRate {
                return failure(traceId: traceId, action: action, .serverError, "Server error.")
            }
        }
        if let problem = incoming.payloadProblem {
            return failure(traceId: traceId, action: action, .invalidPayload, "Invalid payload: \(problem)")
        }
        do {
            try request.validate()
        } catch {
            return failure(traceId: traceId, action: action, .invalidPayload, "Invalid payload: \(error)")
        }
        if configuration.refuseRepeatedFields, let values = request.values, let repeated = Self.repeatedName(in: values) {
            update { $0.repeatedFieldsRefused += 1 }
            return failure(traceId: traceId, action: action, .invalidPayload, "Duplicate field: \(repeated)")
        }
        switch request.action {
        case .heartbeat:
            let ms = Int64((now.timeIntervalSince1970 * 1000).rounded(.down))
            return Response(traceId: traceId, action: action, messageId: nextMessageId(now), success: true, timestamp: ms)
        case .partnerValidate:
            return Response(traceId: traceId, action: action, messageId: nextMessageId(now), success: true)
        case .templateValidate:
            let known = templates[request.templateRef!].map { isAllowed(key: key, template: $0) } ?? false
            if !known { count(error: 0) }
            return Response(traceId: traceId, action: action, messageId: nextMessageId(now), success: known)
        case .tokenize:
            if let template = templates[request.templateRef!], !isAllowed(key: key, template: template) {
                return failure(traceId: traceId, action: action, .permissionDenied, "Permission denied")
            }
            return tokenize(request, traceId: traceId, now: now)
        case .read:
            return read(request, traceId: traceId, now: now)
        case .detokenize:
            return detokenize(request, key: key, traceId: traceId, now: now)
        }
    }

    private func isAllowed(key: String, template: Template) -> Bool {
        template.allowedKeys?.contains(key) ?? true
    }

    /// The first field name that `values` holds twice.
    static func repeatedName(in values: [FieldValue]) -> String? {
        var seen = Set<String>()
        for value in values where !seen.insert(value.name).inserted { return value.name }
        return nil
    }

    private func tokenize(_ request: Request, traceId: String, now: Date) -> Response {
        let action = request.action.rawValue
        let templateRef = request.templateRef!
        guard let fieldCiphers = ciphers[templateRef] else {
            return failure(traceId: traceId, action: action, .templateNotFound, "Template not found")
        }
        var tokens: [FieldValue] = []
        tokens.reserveCapacity(request.values!.count)
        for value in request.values! {
            guard let cipher = fieldCiphers[value.name] else {
                return failure(traceId: traceId, action: action, .unknownField, "Field \(value.name) is not in the template")
            }
            guard let token = cipher.tokenize(value.value) else {
                let quoted = configuration.echoValuesInErrors ? " \(value.value)" : ""
                return failure(traceId: traceId, action: action, .invalidValue, "Invalid value\(quoted) for field \(value.name)")
            }
            tokens.append(FieldValue(name: value.name, value: token))
        }
        let messageId = configuration.deterministicIds && request.reference != nil ? Self.messageId(of: request) : nextMessageId(now)
        let bfid = identity.bfid(messageId: messageId, templateRef: templateRef)
        if request.store == true {
            state.withLockedValue { $0.stored[bfid] = StoredTokens(values: tokens) }
        }
        return Response(
            traceId: traceId, action: action, messageId: messageId, success: true, bfid: bfid,
            values: request.omit == true ? nil : tokens
        )
    }

    private func read(_ request: Request, traceId: String, now: Date) -> Response {
        let action = request.action.rawValue
        let bfid = request.bfid!
        // A stored bfid can be read once; after that it is gone.
        guard let stored = state.withLockedValue({ $0.stored.removeValue(forKey: bfid) }) else {
            return failure(traceId: traceId, action: action, .notFound, "Not found")
        }
        return Response(traceId: traceId, action: action, messageId: nextMessageId(now), success: true, bfid: bfid, values: stored.values)
    }

    private func detokenize(_ request: Request, key: String, traceId: String, now: Date) -> Response {
        let action = request.action.rawValue
        guard let (messageId, templateRef) = identity.parse(bfid: request.bfid!, templateRefs: templates.templates.keys),
            let template = templates[templateRef], let fieldCiphers = ciphers[templateRef],
            let tokenizedAt = MessageIdentity.date(ofMessageId: messageId)
        else {
            return failure(traceId: traceId, action: action, .notFound, "Not found")
        }
        if !isAllowed(key: key, template: template) {
            return failure(traceId: traceId, action: action, .permissionDenied, "Permission denied")
        }
        if template.irreversible {
            return failure(traceId: traceId, action: action, .irreversibleTemplate, "Detokenization not allowed: the template is irreversible")
        }
        if let activeFrom = template.activeFrom, now < activeFrom.added(to: tokenizedAt) {
            return failure(traceId: traceId, action: action, .detokenizationPeriodViolated, "Detokenization period start violated")
        }
        if let activeTo = template.activeTo, now >= activeTo.added(to: tokenizedAt) {
            return failure(traceId: traceId, action: action, .detokenizationPeriodViolated, "Detokenization period end violated")
        }
        var plain: [FieldValue] = []
        plain.reserveCapacity(request.values!.count)
        for value in request.values! {
            guard let cipher = fieldCiphers[value.name] else {
                return failure(traceId: traceId, action: action, .unknownField, "Field \(value.name) is not in the template")
            }
            guard let text = cipher.detokenize(value.value) else {
                return failure(traceId: traceId, action: action, .invalidValue, "Invalid token for field \(value.name)")
            }
            plain.append(FieldValue(name: value.name, value: text))
        }
        return Response(traceId: traceId, action: action, messageId: nextMessageId(now), success: true, values: plain)
    }

    private func failure(traceId: String, action: String?, _ code: ErrorCode, _ message: String) -> Response {
        count(error: code.rawValue)
        return Response(
            traceId: traceId, action: action, messageId: nextMessageId(Date()), success: false,
            failure: .init(code: code, message: message)
        )
    }

    /// A messageId derived from the request's reference and values (see `deterministicIds`).
    static func messageId(of request: Request) -> String {
        var hasher = SHA256()
        hasher.update(data: Array((request.reference ?? "").utf8))
        for value in request.values ?? [] {
            hasher.update(data: [0x1F] + Array(value.name.utf8) + [0x1E] + Array(value.value.utf8))
        }
        let digest = Array(hasher.finalize())
        let first = digest[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let second = digest[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        // Within the first day of 2026 (UTC), 1,767,225,600,000 ms since 1970.
        return MessageIdentity.messageId(millisecondsSince1970: 1_767_225_600_000 + Int64(first % 86_400_000), sequence: second)
    }

    private func nextMessageId(_ now: Date) -> String {
        let sequence = state.withLockedValue { state -> UInt64 in
            state.sequence &+= 1
            return state.sequence
        }
        return MessageIdentity.messageId(millisecondsSince1970: Int64(now.timeIntervalSince1970 * 1000), sequence: sequence)
    }

    private func takeRateToken(key: String, rate: Double) -> Bool {
        let now = NIODeadline.now()
        return state.withLockedValue { state in
            var bucket = state.buckets[key] ?? TokenBucket(rate: rate, burst: max(1, rate), now: now)
            let allowed = bucket.take(now: now)
            state.buckets[key] = bucket
            return allowed
        }
    }

    private func count(action: String) {
        update { $0.requestsByAction[action, default: 0] += 1 }
    }

    private func count(error code: Int) {
        update { $0.errorsByCode[code, default: 0] += 1 }
    }
}

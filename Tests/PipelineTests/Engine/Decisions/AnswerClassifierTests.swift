import NIOCore
import Pipeline
import ShieldConex
import Testing

/// Every rule of answer classification (DESIGN.md invariant 6, issue 7), with no sockets and
/// no clock: time, the record's retry state and the random source are passed in.
struct AnswerClassifierTests {
    struct Fixed: RandomNumberGenerator {
        mutating func next() -> UInt64 { 1 << 63 }  // the middle of every range: no jitter
    }

    let values = [FieldValue(name: "card_number", value: "4111111111111111"), FieldValue(name: "card_cvv", value: "123")]
    let now = NIODeadline.uptimeNanoseconds(1_000_000_000_000)

    func classifier(_ action: JobAction = .tokenize, omit: Bool = false) -> AnswerClassifier {
        AnswerClassifier(action: action, omit: omit, retry: RetryPolicy(), masking: CardNumberMasking())
    }

    func classify(
        _ result: Result<Response, any Error>, action: JobAction = .tokenize, attempts: Int = 1, failingSince: NIODeadline? = nil,
        stopping: Bool = false, omit: Bool = false, bfid: String? = nil
    ) -> AnswerClassifier.Verdict {
        var random = Fixed()
        let request = AnswerClassifier.Request(values: values, bfid: bfid, attempts: attempts, failingSince: failingSince)
        return classifier(action, omit: omit).classify(result, of: request, now: now, stopping: stopping, random: &random)
    }

    func failure(_ code: ErrorCode, _ message: String = "refused") -> Result<Response, any Error> {
        .success(Response(traceId: "t", messageId: "m1", success: false, failure: .init(code: code, message: message)))
    }

    @Test func tokensAreMatchedByNameInTheOrderOfTheRequest() {
        let answer = Response(
            traceId: "t", messageId: "m1", success: true, bfid: "B1",
            values: [FieldValue(name: "card_cvv", value: "tok-cvv"), FieldValue(name: "card_number", value: "tok-pan")]
        )
        #expect(classify(.success(answer)) == .done(bfid: "B1", values: ["tok-pan", "tok-cvv"], messageId: "m1"))
    }

    @Test func anAnswerThatDoesNotFitIsAMismatchNotAGuess() {
        let short = Response(traceId: "t", success: true, bfid: "B1", values: [FieldValue(name: "card_number", value: "x")])
        guard case .rejected(let code, _, _) = classify(.success(short)) else { Issue.record("not rejected"); return }
        #expect(code == "answer-mismatch")
        let noBfid = Response(traceId: "t", success: true, values: values.map { FieldValue(name: $0.name, value: "tok") })
        #expect(classify(.success(noBfid)) == .rejected(code: "answer-mismatch", message: "the answer has no bfid", messageId: nil))
    }

    @Test func omitGivesEmptyValuesAndAReadKeepsWhatWasNotAnswered() {
        let bare = Response(traceId: "t", success: true, bfid: "B1")
        #expect(classify(.success(bare), omit: true) == .done(bfid: "B1", values: ["", ""], messageId: nil))
        let partial = Response(traceId: "t", success: true, values: [FieldValue(name: "card_number", value: "tok-pan")])
        #expect(classify(.success(partial), action: .read, bfid: "B0") == .done(bfid: "B0", values: ["tok-pan", "123"], messageId: nil))
    }

    @Test func refusedCredentialsPermissionAndAnUnknownTemplateStopTheJob() {
        for code in [ErrorCode.authenticationError, .permissionDenied, .templateNotFound] {
            guard case .fatal = classify(failure(code)) else { Issue.record("\(code) is not fatal"); continue }
        }
    }

    @Test func aThrottledRecordIsRetriedAfterABackoffFromItsFirstFailure() {
        // Attempt 1 failed: the wait before attempt 2 is the base backoff (50 ms, no jitter here).
        #expect(classify(failure(.serverError)) == .retry(after: .milliseconds(50), failingSince: now))
        let earlier = now - .seconds(3)
        #expect(classify(failure(.rateLimited), attempts: 3, failingSince: earlier) == .retry(after: .milliseconds(200), failingSince: earlier))
        #expect(classify(.failure(ShieldConexError.timeout)) == .retry(after: .milliseconds(50), failingSince: now))
        #expect(classify(.failure(ShieldConexError.connectionClosed)) == .retry(after: .milliseconds(50), failingSince: now))
    }

    @Test func aRecordStillFailingWhenItsBudgetRunsOutIsTransientForTheNextRun() {
        guard case .transient(let code, let message, let messageId) = classify(failure(.serverError), attempts: 40, failingSince: now - .seconds(601))
        else { Issue.record("not transient"); return }
        #expect(code == "8001" && messageId == "m1")
        #expect(message.contains("not finished: the next run of the same command sends it again"))
        guard case .transient(let lost, _, _) = classify(.failure(ShieldConexError.timeout), stopping: true) else {
            Issue.record("a stopping run retries nothing"); return
        }
        #expect(lost == "transient")
    }

    @Test func aReadIsRepeatedOnlyWhenItWasNotCarriedOut() {
        // 1429 says the request was not carried out: a read may go again.
        #expect(classify(failure(.rateLimited), action: .read, bfid: "B0") == .retry(after: .milliseconds(50), failingSince: now))
        // 8001 and a lost answer may have been carried out: a read is never sent twice.
        guard case .outcomeUnknown = classify(failure(.serverError), action: .read, bfid: "B0") else { Issue.record("8001 read"); return }
        guard case .outcomeUnknown = classify(.failure(ShieldConexError.connectionClosed), action: .read, bfid: "B0") else {
            Issue.record("lost read"); return
        }
    }

    @Test func otherRefusalsAreRejectsWithTheServiceCodeAndNoCardData() {
        let verdict = classify(failure(.invalidValue, "bad value 4111111111111111 and 123"))
        guard case .rejected(let code, let message, let messageId) = verdict else { Issue.record("not rejected"); return }
        #expect(code == "1006" && messageId == "m1")
        #expect(!message.contains("4111111111111111") && !message.contains("123"), "\(message)")
        guard case .rejected(let client, _, _) = classify(.failure(ShieldConexError.invalidRequest(property: "values", reason: "empty")))
        else { Issue.record("invalid request"); return }
        #expect(client == "client-error")
    }

    @Test func congestionSignalsAreTheTransientAnswersWhateverTheirCode() {
        #expect(AnswerClassifier.isTransient(failure(.serverError)))
        #expect(AnswerClassifier.isTransient(failure(.rateLimited)))
        #expect(AnswerClassifier.isTransient(.failure(ShieldConexError.timeout)))
        #expect(!AnswerClassifier.isTransient(failure(.invalidValue)))
        #expect(!AnswerClassifier.isTransient(.success(Response(traceId: "t", success: true))))
    }

    /// What lowers the send rate: the service's transient answers, not requests that got no
    /// answer (timed out or lost with their connection; they are transient all the same).
    @Test func congestionIsWhatTheServiceSays() {
        #expect(AnswerClassifier.isCongestion(failure(.serverError)))
        #expect(AnswerClassifier.isCongestion(failure(.rateLimited)))
        for lost in [ShieldConexError.timeout, .connectionClosed, .connectionLost("reset"), .heartbeatTimeout] {
            #expect(!AnswerClassifier.isCongestion(.failure(lost)) && AnswerClassifier.isTransient(.failure(lost)), "\(lost)")
        }
        #expect(!AnswerClassifier.isCongestion(failure(.invalidValue)))
        #expect(!AnswerClassifier.isCongestion(.success(Response(traceId: "t", success: true))))
    }
}

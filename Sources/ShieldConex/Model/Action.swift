/// The six actions of the ShieldConex WebSocket API.
public enum Action: String, Sendable, CaseIterable, Hashable {
    case heartbeat
    case partnerValidate = "partner-validate"
    case templateValidate = "template-validate"
    case tokenize = "tokenization-tokenize"
    case read = "tokenization-read"
    case detokenize = "tokenization-detokenize"
}

/// The ORCA masking patterns ("Supported Masking Patterns" in the ORCA configuration reference),
/// for the places where a value must be shown:
///
/// - `all`: the entire value is masked.
/// - `fourPlainFourMasked`: every other four characters are masked: four plain, four masked,
///   four plain, and so on (`4111****1111****`).
/// - `allButFirstSixLastFour`: the middle is masked, the first six and last four characters are not.
/// - `allButFirstOneLastFour`: the middle is masked, the first character and the last four are not.
///
/// A value too short to keep its plain parts and still hide a middle is masked entirely.
public enum MaskingPattern: String, Sendable, Hashable, Codable, CaseIterable {
    case all
    case fourPlainFourMasked
    case allButFirstSixLastFour
    case allButFirstOneLastFour

    /// `value` masked with `*`.
    public func apply(to value: String) -> String {
        let characters = Array(value)
        let count = characters.count
        func keep(_ index: Int) -> Bool {
            switch self {
            case .all: false
            case .fourPlainFourMasked: (index / 4) % 2 == 0
            case .allButFirstSixLastFour: count > 10 && (index < 6 || index >= count - 4)
            case .allButFirstOneLastFour: count > 5 && (index < 1 || index >= count - 4)
            }
        }
        return String(characters.enumerated().map { keep($0.offset) ? $0.element : "*" })
    }
}

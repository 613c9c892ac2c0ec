/// The options that answer what a lower module says in words: the ShieldConex module names no
/// command-line flag ("allow insecure transport", "trust its certificate"), and the command line
/// adds which of its options does it to the messages it shows.
enum CommandLineHints {
    static let hints: [(phrase: String, hint: String)] = [
        ("or allow insecure transport if the network", " (--allow-insecure-transport)"),
        ("certificate authority, trust its certificate", " (--ca-file PEM)"),
        ("give the API key apart from it", " (SCX_API_KEY or --key-file)"),
    ]

    /// `message` with the option after each phrase that calls for one.
    static func adding(to message: String) -> String {
        var text = message
        for (phrase, hint) in hints {
            guard let range = text.range(of: phrase) else { continue }
            // At the end of the phrase's clause (its line, or up to a semicolon).
            let end = text[range.upperBound...].firstIndex(where: { $0 == "\n" || $0 == ";" }) ?? text.endIndex
            text.insert(contentsOf: hint, at: end)
        }
        return text
    }
}

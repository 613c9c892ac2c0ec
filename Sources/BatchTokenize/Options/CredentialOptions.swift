import ArgumentParser
import ShieldConex

/// Where the API key comes from. Never an option value: `SCX_API_KEY`, `--key-file`, or a
/// partner id with a partner key file.
struct CredentialOptions: ParsableArguments {
    @Option(help: "Read the API key (the base64 text after 'Basic ') from this file (mode 0600) instead of SCX_API_KEY.")
    var keyFile: String?

    @Option(help: "Your partner id; with --partner-key-file, builds the key as base64(id:key).")
    var partnerId: String?

    @Option(help: "A file (mode 0600) holding the partner key that goes with --partner-id.")
    var partnerKeyFile: String?

    @Option(help: "A PEM file of extra CA certificates to trust for wss:// (system roots stay trusted).")
    var caFile: String?

    @Flag(help: "Allow ws:// (no TLS) to a host that is not this machine. The API key and the card data then cross the network in clear text.")
    var allowInsecureTransport = false

    func validate() throws {
        if (partnerId == nil) != (partnerKeyFile == nil) {
            throw ValidationError("--partner-id and --partner-key-file go together")
        }
        if partnerId != nil && keyFile != nil {
            throw ValidationError("give either --key-file or --partner-id with --partner-key-file, not both")
        }
    }

    /// The key, from the partner pair, the key file, or `SCX_API_KEY`.
    func load() throws -> APIKey {
        do {
            if let partnerId, let partnerKeyFile {
                return try APIKey.fromPartner(id: partnerId, keyFile: partnerKeyFile)
            }
            return try APIKey.load(keyFile: keyFile)
        } catch {
            throw ValidationError("\(error)")
        }
    }
}

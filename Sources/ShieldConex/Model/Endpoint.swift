import Foundation

/// Where to connect: one of the spec's three environments or any `ws://` / `wss://` URL.
///
/// `local` (the embedded simulator) is resolved by the executable, which starts the simulator
/// and then hands over the simulator's `ws://` URL.
public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
    public enum Scheme: String, Sendable { case ws, wss }

    /// The name the user gave (`staging`, `cert`, `production`) or the URL itself.
    public var name: String
    public var scheme: Scheme
    public var host: String
    public var port: Int
    /// The request target of the handshake, `/` by default.
    public var path: String

    /// The three environments of the spec.
    public static let environments: [String: String] = [
        "staging": "wss://secure-staging-ws.shieldconex.com",
        "cert": "wss://secure-cert-ws.shieldconex.com",
        "production": "wss://secure-ws.shieldconex.com",
    ]

    /// Parses an environment name or a `ws://` / `wss://` URL.
    public init(_ text: String) throws(ShieldConexError) {
        let lowered = text.lowercased()
        let urlText = Self.environments[lowered] ?? text
        guard let components = URLComponents(string: urlText), let rawScheme = components.scheme?.lowercased(),
            let scheme = Scheme(rawValue: rawScheme)
        else {
            throw .invalidEndpoint("expected staging, cert, production, local, or a ws:// or wss:// URL")
        }
        guard let host = components.host, !host.isEmpty else {
            throw .invalidEndpoint("the URL has no host")
        }
        if components.user != nil || components.password != nil {
            throw .invalidEndpoint("credentials do not belong in the URL; give the API key apart from it")
        }
        self.name = Self.environments[lowered] != nil ? lowered : text
        self.scheme = scheme
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        self.port = components.port ?? (scheme == .wss ? 443 : 80)
        var path = components.percentEncodedPath
        if path.isEmpty { path = "/" }
        if let query = components.percentEncodedQuery { path += "?" + query }
        self.path = path
    }

    /// The URL this endpoint connects to.
    public var url: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        let defaultPort = scheme == .wss ? 443 : 80
        let portPart = port == defaultPort ? "" : ":\(port)"
        return "\(scheme.rawValue)://\(hostPart)\(portPart)\(path == "/" ? "" : path)"
    }

    /// Whether the host is this machine: `localhost`, 127.0.0.0/8 or `::1`.
    public var isLoopback: Bool {
        let lowered = host.lowercased()
        if lowered == "localhost" || lowered.hasSuffix(".localhost") || lowered == "::1" { return true }
        let octets = lowered.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }

    /// Whether this endpoint may be used under the transport policy: `wss://` always, `ws://`
    /// to a loopback address, or anywhere when `allowInsecure` is set.
    public func checkTransport(allowInsecure: Bool) throws(ShieldConexError) {
        if scheme == .ws && !isLoopback && !allowInsecure { throw .insecureTransport(host: host) }
    }

    /// The value of the HTTP `Host` header.
    var hostHeader: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        let defaultPort = scheme == .wss ? 443 : 80
        return port == defaultPort ? hostPart : "\(hostPart):\(port)"
    }

    public var description: String { name == url ? url : "\(name) (\(url))" }
}

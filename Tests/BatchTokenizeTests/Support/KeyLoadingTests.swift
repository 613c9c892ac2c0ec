@testable import BatchTokenize
import Foundation
import ShieldConex
import Testing

/// The key's loading is the executable's (the ShieldConex module reads no environment and no file).
@Suite struct KeyLoadingTests {
    @Test func keyComesFromEnvironmentOrAPrivateFile() throws {
        let fromEnvironment = try APIKey.load(keyFile: nil, environment: ["SCX_API_KEY": " a2V5 \n"])
        #expect(fromEnvironment.authorizationHeader == "Basic a2V5")
        #expect(!fromEnvironment.description.contains("a2V5"))
        #expect(throws: APIKey.LoadError.self) { try APIKey.load(keyFile: nil, environment: [:]) }

        let path = FileManager.default.temporaryDirectory.appendingPathComponent("key-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        _ = FileManager.default.createFile(atPath: path, contents: Data("ZmlsZWtleQ==\n".utf8), attributes: [.posixPermissions: 0o644])
        #expect(throws: APIKey.LoadError.self) { try APIKey.load(keyFile: path, environment: [:]) }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        #expect(try APIKey.load(keyFile: path, environment: ["SCX_API_KEY": "other"]).authorizationHeader == "Basic ZmlsZWtleQ==")
    }
}

/// The ShieldConex module says what to do in words; the command line adds its options.
@Suite struct CommandLineHintsTests {
    @Test func theOptionFollowsThePhraseThatCallsForIt() throws {
        let insecure = "\(ShieldConexError.insecureTransport(host: "example.test"))"
        #expect(!insecure.contains("--"))
        #expect(CommandLineHints.adding(to: "error: " + insecure + "\nto resume, run it again").contains("is trusted (--allow-insecure-transport)\nto resume"))
        let certificate = "\(ShieldConexError.certificateNotTrusted("expired"))"
        #expect(CommandLineHints.adding(to: certificate).hasSuffix("trust its certificate (--ca-file PEM)"))
        #expect(CommandLineHints.adding(to: "nothing to add") == "nothing to add")
    }
}

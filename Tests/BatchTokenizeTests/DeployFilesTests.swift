import Foundation
import Testing
import TestSupport

/// The deployment files checked the way that can be done here, without a cluster, an AWS account
/// or a Docker daemon (scripts/check-deploy.py): the Kubernetes manifests against the Kubernetes
/// schema (kubernetes-validate, strict), the AWS Batch JSON against botocore's service model, the
/// Dockerfile through Docker's parser; and the exit-status policy and security settings in each.
@Suite(.serialized) struct DeployFilesTests {
    static let root = ProjectFiles.root

    static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    @Test func kubernetesAWSBatchAndDockerFilesPassTheirChecks() throws {
        let setup = try Self.run("/bin/bash", [Self.root + "/scripts/deploy-check-venv.sh"])
        try #require(setup.status == 0, "the checkers' virtualenv could not be made: \(setup.output)")
        let python = try #require(setup.output.split(separator: "\n").last.map(String.init))
        let checked = try Self.run(python, [Self.root + "/scripts/check-deploy.py", Self.root])
        #expect(checked.status == 0, "\(checked.output)")
        for line in [
            "ok: Job batch-tokenize-shards is valid against Kubernetes",
            "ok: exit 4 and 64 fail the index without a retry",
            "ok: exit 1, 5 and 75 are retried",
            "ok: job-definition.json is a valid RegisterJobDefinition request",
            "ok: submit-shards.json is a valid SubmitJob request",
            "ok: exit 4 and 64 end the job without a retry",
            "ok: the binary is built with --static-swift-stdlib",
            "ok: the runtime stage runs as user 10001",
            "every deployment check passed",
        ] {
            #expect(checked.output.contains(line), "\(line)\n\(checked.output)")
        }
    }
}

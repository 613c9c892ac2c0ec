import Foundation

/// A producer command piped into `batch-tokenize`, as a shell pipeline runs them
/// (`gpg --decrypt x.gpg | batch-tokenize run --input - …`): two processes and a pipe between
/// them, so that a test can kill the consumer and see the producer stop (SIGPIPE).
public struct PipedRun {
    public let producer: Process
    public let consumer: Process
    public let stderr: Pipe

    /// Starts `producer` (an executable and its arguments) feeding `batch-tokenize arguments`
    /// (with the simulator's key).
    public static func start(_ producer: [String], into arguments: [String], producerEnvironment: [String: String]? = nil) throws -> PipedRun {
        let pipe = Pipe()
        let source = Process()
        source.executableURL = URL(fileURLWithPath: producer[0])
        source.arguments = Array(producer.dropFirst())
        if let producerEnvironment { source.environment = producerEnvironment }
        source.standardOutput = pipe
        source.standardError = FileHandle.nullDevice
        let consumer = BinaryLauncher.process(arguments, environment: ["SCX_API_KEY": TestKeys.simulator])
        consumer.standardInput = pipe
        consumer.standardOutput = FileHandle.nullDevice
        let stderr = Pipe()
        consumer.standardError = stderr
        try source.run()
        try consumer.run()
        // Only the two children hold the pipe's ends now.
        try? pipe.fileHandleForReading.close()
        try? pipe.fileHandleForWriting.close()
        return PipedRun(producer: source, consumer: consumer, stderr: stderr)
    }

    /// Waits for both to end; the consumer's status and stderr.
    public func finish() -> (status: Int32, stderr: String) {
        let log = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        consumer.waitUntilExit()
        producer.waitUntilExit()
        return (consumer.terminationStatus, log)
    }

    /// Runs the pipeline to its end.
    public static func run(_ producer: [String], into arguments: [String], producerEnvironment: [String: String]? = nil) throws -> (status: Int32, stderr: String) {
        try start(producer, into: arguments, producerEnvironment: producerEnvironment).finish()
    }
}

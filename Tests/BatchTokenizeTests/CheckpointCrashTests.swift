import Checkpoint
import Foundation
import Testing
import TestSupport

/// A writer is killed with SIGKILL at random moments; after each kill the checkpoint opens, its
/// commit point agrees with the output file, and no committed result is lost.
@Suite(.serialized) struct CheckpointCrashTests {
    static let records = 20_000

    /// Starts the writer, lets it commit `commits` times (reading its progress lines), then kills it.
    static func runAndKill(output: String, afterCommits commits: Int?) throws -> Int32 {
        let process = BinaryLauncher.process(["_checkpoint-writer", "--output", output, "--records", String(records)])
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        if let commits {
            var seen = 0
            var buffer = Data()
            while seen < commits {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
                seen = buffer.split(separator: UInt8(ascii: "\n")).count
            }
            kill(process.processIdentifier, SIGKILL)
        } else {
            _ = out.fileHandleForReading.readDataToEndOfFile()
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    static func lines(of path: String, upTo offset: Int64) throws -> [String] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(Int64(data.count) >= offset, "the output reaches the committed offset")
        return String(decoding: data.prefix(Int(offset)), as: UTF8.self).split(separator: "\n").map(String.init)
    }

    @Test func killedWritersLoseNothingCommitted() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("crash-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("out.csv").path
        let checkpoint = CheckpointStore.defaultPath(forOutput: output)
        var lastCommitted = -1
        for _ in 0..<20 {
            _ = try Self.runAndKill(output: output, afterCommits: Int.random(in: 1...4))
            let summary = try CheckpointStore.summary(path: checkpoint)
            let point = try #require(summary.commitPoint)
            #expect(point.seq >= lastCommitted, "the commit point never goes back")
            lastCommitted = point.seq
            // The committed part of the output holds every record once, in order.
            let lines = try Self.lines(of: output, upTo: point.outputOffset)
            #expect(lines.count == point.seq + 1)
            #expect(lines.first == "0,bfid-0")
            #expect(lines.last == "\(point.seq),bfid-\(point.seq)")
            // Every committed result is still there.
            #expect(summary.resultsStored >= point.seq + 1)
            #expect(!summary.complete)
        }
        #expect(try Self.runAndKill(output: output, afterCommits: nil) == 0)
        let summary = try CheckpointStore.summary(path: checkpoint)
        #expect(summary.complete)
        #expect(summary.commitPoint?.seq == Self.records - 1)
        let lines = try Self.lines(of: output, upTo: summary.commitPoint!.outputOffset)
        #expect(lines == (0..<Self.records).map { "\($0),bfid-\($0)" })
        let size = try FileManager.default.attributesOfItem(atPath: output)[.size] as? Int
        #expect(Int64(size ?? 0) == summary.commitPoint!.outputOffset)
    }
}

@Suite(.serialized) struct StatusCommandTests {
    @Test func statusPrintsTheCheckpointAsTextAndJSON() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("status-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("out.csv").path
        let written = try BinaryLauncher.run(["_checkpoint-writer", "--output", output, "--records", "120"])
        #expect(written.status == 0)

        let text = try BinaryLauncher.run(["status", "--output", output])
        #expect(text.status == 0)
        #expect(text.stdout.contains("job: tokenize with template crash-test on local"))
        #expect(text.stdout.contains("records committed: 120"))
        #expect(text.stdout.contains("complete: yes"))

        let json = try BinaryLauncher.run(["status", "--checkpoint", CheckpointStore.defaultPath(forOutput: output), "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["recordsCommitted"] as? Int == 120)
        #expect(object["complete"] as? Bool == true)
        #expect((object["identity"] as? [String: Any])?["templateRef"] as? String == "crash-test")

        let missing = try BinaryLauncher.run(["status", "--output", directory.appendingPathComponent("none.csv").path])
        #expect(missing.status == 64)
        #expect(missing.stderr.contains("no checkpoint at"))
    }
}

import ArgumentParser
import Checkpoint
import Foundation
import Pipeline

extension BatchTokenize {
    /// A stand-in for the engine's write path, for the crash test: writes numbered output lines
    /// and their results, fsyncs, commits, and resumes from the commit point when run again.
    /// Hidden: it exists to be killed.
    struct CheckpointWriter: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "_checkpoint-writer", abstract: "Test helper: writes and commits records until killed.",
            shouldDisplay: false
        )

        @Option var output: String
        @Option var records: Int
        @Option var commitEvery = 50

        func run() throws {
            let identity = JobIdentity(
                action: "tokenize", endpoint: "local", templateRef: "crash-test", inputPath: "generated",
                input: InputFingerprint(size: Int64(records), modified: 0, digest: "none"), mapping: "line", options: [:]
            )
            var configuration = CheckpointStore.Configuration()
            configuration.batchSize = 200
            let store = try CheckpointStore(path: CheckpointStore.defaultPath(forOutput: output), identity: identity, configuration: configuration)
            let point = store.commitPoint
            let file = try OutputFile(path: output, resumeAt: point?.outputOffset, expected: nil)
            var seq = (point?.seq ?? -1) + 1
            while seq < records {
                // Results may run ahead of the output, as answers do; reuse them when present.
                let result = try store.result(seq: seq) ?? RecordResult(seq: seq, status: .done, bfid: "bfid-\(seq)", tokens: ["token-\(seq)"])
                try store.record(result)
                if seq + 3 < records {
                    try store.record(RecordResult(seq: seq + 3, status: .done, bfid: "bfid-\(seq + 3)", tokens: ["token-\(seq + 3)"]))
                }
                try file.write(Array("\(seq),\(result.bfid ?? "")\n".utf8))
                if seq % commitEvery == commitEvery - 1 || seq == records - 1 {
                    try file.sync()
                    try store.commit(
                        CommitPoint(seq: seq, inputOffset: Int64(seq + 1), inputLine: seq + 2, outputOffset: file.offset, rejectsOffset: 0),
                        complete: seq == records - 1
                    )
                    print("committed \(seq)")
                    fflush(nil)
                }
                seq += 1
            }
        }
    }
}

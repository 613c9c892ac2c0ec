import ArgumentParser
import Pipeline

/// How a job ended, for the summary, the report and the exit status: a pure function of what
/// the job returned or threw.
struct JobEnding {
    var outcome: JobReport.Outcome
    var exitCode: ExitCode
    var summary: JobSummary?
    var message: String?

    /// The ending of a job that returned `result`; `resume` is the sentence that says how to go
    /// on ("run the same command again: …").
    static func of(_ result: Result<BatchJob.Outcome, any Error>, rejectsPath: String, checkpointPath: String, resume: String) -> JobEnding {
        switch result {
        case .success(.alreadyComplete):
            return JobEnding(
                outcome: .alreadyComplete, exitCode: ExitCodes.success,
                message: "the job is already complete (checkpoint \(checkpointPath)); nothing was sent. Use --restart to run it again."
            )
        case .success(.completed(let summary)):
            if !summary.balances {
                return JobEnding(outcome: .failed, exitCode: ExitCodes.failure, summary: summary, message: "the books do not balance")
            }
            if summary.rejected + summary.outcomeUnknown > 0 {
                return JobEnding(
                    outcome: .completedWithRejects, exitCode: ExitCodes.finishedWithRejects, summary: summary,
                    message: "finished with rejects (rejected: \(summary.rejected), outcome unknown: \(summary.outcomeUnknown)); see \(rejectsPath)"
                )
            }
            return JobEnding(outcome: .completed, exitCode: ExitCodes.success, summary: summary)
        case .failure(let error as JobError):
            switch error.kind {
            case .configuration:
                return JobEnding(outcome: .configurationError, exitCode: ExitCodes.usage, summary: error.summary, message: "error: \(error)")
            case .connection:
                return JobEnding(
                    outcome: .unreachable, exitCode: ExitCodes.connection, summary: error.summary,
                    message: "error: \(error)\nthe checkpoint is kept: once the service can be reached, \(resume)"
                )
            case .databaseRefused:
                return JobEnding(
                    outcome: .refused, exitCode: ExitCodes.refused, summary: error.summary,
                    message: "error: \(error)\ncheck the role and its password (PGPASSWORD or a 0600 ~/.pgpass) and its privileges; the checkpoint is kept: fix the cause, then \(resume)"
                )
            case .databaseUnreachable:
                return JobEnding(
                    outcome: .unreachable, exitCode: ExitCodes.connection, summary: error.summary,
                    message: "error: \(error)\nthe checkpoint is kept: once the database can be reached, \(resume)"
                )
            case .fatalAnswer:
                return JobEnding(
                    outcome: .refused, exitCode: ExitCodes.refused, summary: error.summary,
                    message: "error: \(error)\ncheck the key and the template (batch-tokenize validate); the checkpoint is kept: fix the cause, then \(resume)"
                )
            case .transient:
                return JobEnding(
                    outcome: .transientFailures, exitCode: ExitCodes.interrupted, summary: error.summary,
                    message: "\(error)\nthe checkpoint is kept; once the service recovers, \(resume) (only those records are sent again)"
                )
            case .interrupted:
                return JobEnding(outcome: .interrupted, exitCode: ExitCodes.interrupted, summary: error.summary, message: "\(error)\nto resume, \(resume)")
            case .input:
                return JobEnding(
                    outcome: .failed, exitCode: ExitCodes.failure, summary: error.summary,
                    message: "error: \(error)\nthe records before it are finished and written; the checkpoint is kept (a repaired file is a new input: the checkpoint refuses it, and --restart starts over)"
                )
            }
        case .failure(let error):
            return JobEnding(
                outcome: .failed, exitCode: ExitCodes.failure,
                message: "error: \(error)\nwhat was finished is committed; once the cause is fixed, \(resume)"
            )
        }
    }
}

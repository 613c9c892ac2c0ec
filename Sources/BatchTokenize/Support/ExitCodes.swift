import ArgumentParser

/// Process exit codes shared by the subcommands (the table is in `--help` and the README).
enum ExitCodes {
    /// Every record finished: tokenized (or detokenized, read) or passed through.
    static let success = ExitCode.success
    /// Something unexpected: the books do not balance, a verify found mismatches, a file could
    /// not be written. What was finished is committed; running the job again resumes it.
    static let failure = ExitCode.failure
    /// The job finished, but some records are in the rejects file (rejected or outcome unknown).
    static let finishedWithRejects = ExitCode(2)
    /// `call` only: the server answered with `success: false`.
    static let answeredFailure = ExitCode(3)
    /// Authentication, permission or template: the key was refused, the template does not exist
    /// or is not provisioned for the key (401/403, 8003, 8004, 1202, failed validation).
    static let refused = ExitCode(4)
    /// The service could not be reached or kept dropping connections; running the job again resumes it.
    static let connection = ExitCode(5)
    /// Usage, configuration or input: a bad option, job file, mapping, key file or input file (EX_USAGE).
    static let usage = ExitCode.validationFailure
    /// A signal stopped the job, or records were still failing transiently when their retry
    /// budget ran out; what was finished is committed and running it again resumes (EX_TEMPFAIL).
    static let interrupted = ExitCode(75)

    /// The table for `--help`.
    static let table = """
        Exit status:
          0   every record finished
          1   unexpected failure (run the same command again to resume)
          2   finished, with records in the rejects file (rejected or outcome unknown)
          4   authentication, permission or template refused
          5   service unreachable (run the same command again to resume)
          64  usage, configuration or input error
          75  interrupted by a signal, or records still failing transiently (throttling, server
              errors) after --retry-for: run the same command again to resume
        """
}

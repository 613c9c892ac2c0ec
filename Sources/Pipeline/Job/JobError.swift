/// Why a job stopped before its end.
public struct JobError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// Credentials, permissions or the template are wrong (8003, 8004, 1202, refused handshake).
        case fatalAnswer
        /// The service could not be reached (connections kept failing).
        case connection
        /// The database refused the role (a wrong password, no such role, no privilege to connect).
        case databaseRefused
        /// The database could not be reached.
        case databaseUnreachable
        /// The job's inputs or configuration are unusable.
        case configuration
        /// A signal asked the job to stop; what was finished is committed and the job resumes.
        case interrupted
        /// The input cannot be read on (a compressed stream cut short or damaged): the records
        /// before the damage are finished and committed.
        case input
        /// The job went through its input, but some records were still failing transiently when
        /// their retry budget ran out; running it again sends them (and only them) again.
        case transient
    }

    public var kind: Kind
    public var message: String
    /// What the job did before it stopped, when it got as far as sending records.
    public var summary: JobSummary?

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// A ``RecordReader`` that reads a page of records at a time (a database's rows): handed over a
/// page at once.
public protocol PagedRecordReader: RecordReader {
    /// Appends the next records (each with where the record after it starts; at least one while it returns `true`) to
    /// `page`; `false` once the input has ended (after the records appended with it, if any).
    mutating func nextPage(into page: inout [(record: InputRecord, after: RecordPosition)]) throws -> Bool
}

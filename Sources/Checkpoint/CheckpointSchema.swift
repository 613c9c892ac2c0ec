extension CheckpointStore {
    /// The tables of a checkpoint (created if absent; a checkpoint of an earlier version gains
    /// the ones it lacks).
    static let schema = """
        CREATE TABLE IF NOT EXISTS job (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            identity TEXT NOT NULL,
            complete INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL
        );
        CREATE TABLE IF NOT EXISTS result_block (
            id INTEGER PRIMARY KEY,
            first_seq INTEGER NOT NULL,
            last_seq INTEGER NOT NULL,
            count INTEGER NOT NULL,
            updated_at REAL NOT NULL,
            results BLOB NOT NULL
        );
        CREATE INDEX IF NOT EXISTS result_block_last_seq ON result_block (last_seq);
        CREATE TABLE IF NOT EXISTS result_tokens (
            block_id INTEGER PRIMARY KEY,
            tokens BLOB NOT NULL
        );
        CREATE TABLE IF NOT EXISTS tally (
            status INTEGER NOT NULL,
            error_code TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (status, error_code)
        );
        CREATE TABLE IF NOT EXISTS file (
            name TEXT PRIMARY KEY,
            device INTEGER NOT NULL,
            inode INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS file_path (
            name TEXT PRIMARY KEY,
            path TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS commit_point (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            seq INTEGER NOT NULL,
            input_offset INTEGER NOT NULL,
            input_line INTEGER NOT NULL,
            output_offset INTEGER NOT NULL,
            rejects_offset INTEGER NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE TABLE IF NOT EXISTS input_definition (
            name TEXT PRIMARY KEY,
            definition TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS point_input_digest (
            point TEXT PRIMARY KEY,
            digest TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS remembered_value (
            digest BLOB PRIMARY KEY,
            texts BLOB NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS written_point (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            seq INTEGER NOT NULL,
            input_offset INTEGER NOT NULL,
            input_line INTEGER NOT NULL,
            output_offset INTEGER NOT NULL,
            rejects_offset INTEGER NOT NULL,
            updated_at REAL NOT NULL
        );
        """
}

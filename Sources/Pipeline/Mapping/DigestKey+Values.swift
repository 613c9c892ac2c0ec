import Checkpoint
import ShieldConex

extension DigestKey {
    /// The keyed record digest of mapped values: each value's field name and text, each framed
    /// with its length (what a checkpoint stores with a record's result, and what `--dedup`
    /// and a dry run's repeats go by).
    func recordDigest(of values: [FieldValue]) -> RecordDigest {
        recordDigest { parts in
            for value in values {
                var (name, text) = (value.name, value.value)
                name.withUTF8 { parts.append(UnsafeRawBufferPointer($0)) }
                text.withUTF8 { parts.append(UnsafeRawBufferPointer($0)) }
            }
        }
    }
}

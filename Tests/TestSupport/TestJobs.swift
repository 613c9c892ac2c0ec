import Checkpoint

/// Job identities for checkpoint tests.
public enum TestJobs {
    public static func identity(templateRef: String = "tpl", mapping: String = "card_number=card_number", size: Int64 = 100) -> JobIdentity {
        JobIdentity(
            action: "tokenize", endpoint: "local", templateRef: templateRef, inputPath: "in.csv",
            input: InputFingerprint(size: size, modified: 1, digest: "abc"), mapping: mapping, options: ["store": "false"]
        )
    }
}

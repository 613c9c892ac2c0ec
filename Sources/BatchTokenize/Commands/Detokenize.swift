import ArgumentParser
import Pipeline

extension BatchTokenize {
    /// Detokenizes a file: records with a bfid and tokens in, plaintext values out.
    struct Detokenize: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Detokenize the mapped token columns of a file with a bfid column; run it again to resume.",
            discussion: """
                The output holds cardholder data in plaintext: it is created with mode 0600, and \
                the plaintext never reaches the checkpoint (a resumed job asks again for the records \
                it had not yet written). Records the service refuses (1403 outside the detokenization \
                window, 1402 irreversible template) go to the rejects file.

                Example:
                  batch-tokenize detokenize --endpoint local --template-ref 438ac8afecdd8035a21c126ee1fe6c19 \\
                    --input cards.tokenized.csv --output cards.plain.csv \\
                    --map card_number=card_number --map card_exp=card_exp

                \(ExitCodes.table)
                """
        )

        @OptionGroup var options: JobOptions

        func run() async throws {
            try await JobRunner(action: .detokenize, options: options, job: try options.jobFile()).run()
        }
    }

    /// Reads the tokens of stored bfids: the second half of an `--omit --store` tokenize job.
    struct Read: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read back the tokens of records tokenized with --omit --store (tokenization-read).",
            discussion: """
                Each record's bfid is read from --bfid-column and its tokens are written into the \
                mapped columns. A bfid can be read once: a read is recorded in the checkpoint before \
                it is sent, and a read whose answer was lost (or that met a server error) is never \
                sent again — it goes to the rejects file as outcome-unknown.

                Example:
                  batch-tokenize run --endpoint local --template-ref 438ac8afecdd8035a21c126ee1fe6c19 --omit --store \\
                    --input cards.csv --output cards.omitted.csv --map card_number=card_number
                  batch-tokenize read --endpoint local --template-ref 438ac8afecdd8035a21c126ee1fe6c19 \\
                    --input cards.omitted.csv --output cards.tokenized.csv --map card_number=card_number

                \(ExitCodes.table)
                """
        )

        @OptionGroup var options: JobOptions

        func run() async throws {
            try await JobRunner(action: .read, options: options, job: try options.jobFile()).run()
        }
    }
}

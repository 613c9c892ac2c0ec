import ShieldConex

/// A random sample of finished records for `verify`: each input record paired with its output
/// record (records listed in the rejects file have none), holding the input's values, the
/// output's tokens and bfid. Plaintext stays in memory, for at most `size` records.
public struct OutputSample: Sendable {
    public struct Entry: Sendable {
        public var record: Int
        public var bfid: String
        public var plaintext: [FieldValue]
        public var tokens: [FieldValue]
    }

    public var entries: [Entry] = []
    /// Finished records with values, among which the sample was drawn.
    public var candidates = 0
    /// Output records whose mapped values could not be found again (they are not sampled).
    public var unmappable = 0

    /// An output that is not this input's (``kind``: which file ran out first), in words.
    public struct Mismatch: Error, Hashable, Sendable, CustomStringConvertible {
        public enum Kind: Sendable, Hashable {
            /// The output ends before an input record that is not in the rejects file.
            case outputShorter
            /// The output has records beyond the input's finished ones.
            case outputLonger
        }
        public var kind: Kind
        public var description: String
    }

    /// Reads `input` and `output` side by side and draws `size` records at random (reservoir
    /// sampling, one pass, memory bounded by `size`).
    public static func draw(
        size: Int, inputPath: String, outputPath: String, format: InputFormat, delimiter: UInt8, instructions: [Instruction],
        bfidColumn: String, rejected: Set<Int>, seed: UInt64, hasHeader: Bool = true
    ) throws -> OutputSample {
        let input = try InputSource.open(path: inputPath, format: format, delimiter: delimiter, hasHeader: hasHeader)
        let output = try InputSource.open(path: outputPath, format: format, delimiter: delimiter, hasHeader: hasHeader)
        let inputMapper = try FieldMapper(instructions: instructions, format: format, header: input.header)
        // Tokens are found where the values were, but need not pass the input's checks.
        let outputMapper = try FieldMapper(
            instructions: instructions, format: format, header: output.header, reading: .tokens(spansColumn: FieldMapper.spansColumn(bfidColumn: bfidColumn))
        )
        let bfidReader = try RecordIdentifier(idColumn: bfidColumn, format: format, header: output.header)
        var inputReader = input.reader
        var outputReader = output.reader
        var generator = SplitMix64(seed: seed)
        var sample = OutputSample()
        while let record = try inputReader.next() {
            if rejected.contains(record.number) { continue }
            guard let written = try outputReader.next() else {
                throw Mismatch(kind: .outputShorter, description: "the output ends before input record \(record.number): it is not the output of this input (or the job is not finished)")
            }
            guard case .success(let plain) = inputMapper.map(record), !plain.values.isEmpty else { continue }
            guard case .success(let tokens) = outputMapper.map(written), tokens.values.count == plain.values.count,
                let bfid = bfidReader.id(of: written), !bfid.isEmpty
            else {
                sample.unmappable += 1
                continue
            }
            sample.candidates += 1
            let entry = Entry(record: record.number, bfid: bfid, plaintext: plain.values, tokens: tokens.values)
            if sample.entries.count < size {
                sample.entries.append(entry)
            } else {
                let slot = Int(generator.next() % UInt64(sample.candidates))
                if slot < size { sample.entries[slot] = entry }
            }
        }
        if try outputReader.next() != nil {
            throw Mismatch(kind: .outputLonger, description: "the output has more records than the input has finished ones: it is not the output of this input")
        }
        sample.entries.sort { $0.record < $1.record }
        return sample
    }
}

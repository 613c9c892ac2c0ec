import ArgumentParser

extension BatchTokenize {
    /// Test helper: holds a value shaped like card data in memory, then crashes, so that a test can
    /// check that nothing of the process's memory is printed or dumped.
    struct CrashForTests: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "_crash", abstract: "Test helper: crashes on purpose.", shouldDisplay: false
        )

        @Option(help: "A value to hold in memory when it crashes.")
        var hold: String

        func run() throws {
            let held = Array(hold.utf8) + Array(hold.utf8)
            withExtendedLifetime(held) {
                let index = held.count + Int(CommandLine.arguments.count)
                _ = held[index]  // out of range: a trap, as a bug would
            }
        }
    }
}

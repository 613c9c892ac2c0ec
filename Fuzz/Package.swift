// swift-tools-version: 6.1
// libFuzzer targets over the parsers that take input from outside: files and server answers.
// Its own package so that `-sanitize=fuzzer` never reaches the main build. Run with
// `Fuzz/run.sh TARGET SECONDS` (Linux; it builds with -sanitize=fuzzer,address).
import PackageDescription

let package = Package(
    name: "batch-tokenize-fuzz",
    dependencies: [.package(path: "../"), .package(url: "https://github.com/apple/swift-nio", from: "2.101.2")],
    targets: [
        .target(name: "FuzzSupport"),
        .executableTarget(name: "FuzzCSVReader", dependencies: ["FuzzSupport", .product(name: "Pipeline", package: "main")]),
        .executableTarget(name: "FuzzNDJSONReader", dependencies: ["FuzzSupport", .product(name: "Pipeline", package: "main")]),
        .executableTarget(
            name: "FuzzResponseDecoder",
            dependencies: ["FuzzSupport", .product(name: "ShieldConex", package: "main"), .product(name: "NIOCore", package: "swift-nio")]
        ),
        .executableTarget(name: "FuzzJobFile", dependencies: ["FuzzSupport", .product(name: "Pipeline", package: "main")]),
        .executableTarget(name: "FuzzRejectsRoundTrip", dependencies: ["FuzzSupport", .product(name: "Pipeline", package: "main")]),
        .executableTarget(
            name: "FuzzShardPlan",
            dependencies: ["FuzzSupport", .product(name: "Pipeline", package: "main"), .product(name: "Checkpoint", package: "main")]
        ),
        .executableTarget(
            name: "FuzzShardMerge",
            dependencies: ["FuzzSupport", .product(name: "Pipeline", package: "main"), .product(name: "Checkpoint", package: "main")]
        ),
    ],
    swiftLanguageModes: [.v6]
)

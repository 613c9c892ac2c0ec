// swift-tools-version: 6.1
// libFuzzer targets over the parsers that take input from outside: files and server answers.
// Its own package so that `-sanitize=fuzzer` never reaches the main build. Run with
// `Fuzz/run.sh TARGET SECONDS` (Linux; it builds with -sanitize=fuzzer,address).
import PackageDescription

let package = Package(
    name: "batch-tokenize-fuzz",
    dependencies: [.package(name: "batch-tokenize", path: "../"), .package(url: "https://github.com/apple/swift-nio", from: "2.101.2")],
    targets: [
        .target(name: "FuzzSupport"),
        .executableTarget(name: "FuzzCSVReader", dependencies: ["FuzzSupport", .product(name: "Pipeline", package: "batch-tokenize")]),
        .executableTarget(name: "FuzzGzipInput", dependencies: ["FuzzSupport", .product(name: "Pipeline", package: "batch-tokenize")]),
        .executableTarget(name: "FuzzNDJSONReader", dependencies: ["FuzzSupport", .product(name: "Pipeline", package: "batch-tokenize")]),
        .executableTarget(
            name: "FuzzResponseDecoder",
            dependencies: ["FuzzSupport", .product(name: "ShieldConex", package: "batch-tokenize"), .product(name: "NIOCore", package: "swift-nio")]
        ),
        .executableTarget(name: "FuzzJobFile", dependencies: ["FuzzSupport", .product(name: "Pipeline", package: "batch-tokenize")]),
        .executableTarget(name: "FuzzRejectsRoundTrip", dependencies: ["FuzzSupport", .product(name: "Pipeline", package: "batch-tokenize")]),
        .executableTarget(
            name: "FuzzShardPlan",
            dependencies: ["FuzzSupport", .product(name: "Pipeline", package: "batch-tokenize"), .product(name: "Checkpoint", package: "batch-tokenize")]
        ),
        .executableTarget(
            name: "FuzzShardMerge",
            dependencies: ["FuzzSupport", .product(name: "Pipeline", package: "batch-tokenize"), .product(name: "Checkpoint", package: "batch-tokenize")]
        ),
    ],
    swiftLanguageModes: [.v6]
)

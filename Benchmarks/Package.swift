// swift-tools-version: 6.1
// The benchmark executables, in a package of their own (as Fuzz/ is) so that the product build
// and CI never build them. Run in release from the repository's root, e.g.
//   swift build -c release --package-path Benchmarks --product Floor
// (the scripts here do it; see README.md).
import PackageDescription

let package = Package(
    name: "batch-tokenize-benchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [.package(name: "batch-tokenize", path: "../"), .package(url: "https://github.com/apple/swift-nio", from: "2.101.2")],
    targets: [
        .executableTarget(
            name: "ClientRoundTrip",
            dependencies: [
                .product(name: "ShieldConex", package: "batch-tokenize"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "ClientRoundTrip"
        ),
        .executableTarget(
            name: "Floor",
            dependencies: [
                .product(name: "ShieldConex", package: "batch-tokenize"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            path: "Floor"
        ),
        .executableTarget(name: "CheckpointThroughput", dependencies: [.product(name: "Checkpoint", package: "batch-tokenize")], path: "CheckpointThroughput"),
        .executableTarget(
            name: "Codec",
            dependencies: [.product(name: "ShieldConex", package: "batch-tokenize"), .product(name: "NIOCore", package: "swift-nio")],
            path: "Codec"
        ),
        .executableTarget(name: "ReaderThroughput", dependencies: [.product(name: "Pipeline", package: "batch-tokenize")], path: "ReaderThroughput"),
    ],
    swiftLanguageModes: [.v6]
)

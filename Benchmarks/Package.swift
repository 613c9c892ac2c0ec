// swift-tools-version: 6.1
// Benchmarks live in their own package so that `swift test` never builds them.
import PackageDescription

let package = Package(
    name: "batch-tokenize-benchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(path: "../"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .executableTarget(
            name: "ClientRoundTrip",
            dependencies: [
                .product(name: "ShieldConex", package: "batch-tokenize"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        )
    ],
    swiftLanguageModes: [.v6]
)

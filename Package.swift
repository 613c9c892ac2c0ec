// swift-tools-version: 6.1
import PackageDescription

// The hot path's modules are built in release without the runtime's dynamic exclusivity checks
// (swift_beginAccess / swift_endAccess around every access to a class's stored property or a
// global): about 3% of the client's CPU per record on the engine's loop. Debug builds, and so
// every test, keep them.
let hotPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "batch-tokenize",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "batch-tokenize", targets: ["BatchTokenize"]),
        .library(name: "ShieldConex", targets: ["ShieldConex"]),
        .library(name: "Simulator", targets: ["Simulator"]),
        // For Fuzz/ and Benchmarks/ (packages of their own, so that libFuzzer's flags and the
        // benchmarks never reach this build).
        .library(name: "Pipeline", targets: ["Pipeline"]),
        .library(name: "Checkpoint", targets: ["Checkpoint"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        .target(
            name: "ShieldConex",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: hotPath
        ),
        .target(
            name: "Simulator",
            dependencies: [
                "ShieldConex",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: hotPath
        ),
        // prctl is variadic, which Swift cannot call: one C function for the executable.
        .target(name: "CShims"),
        .executableTarget(
            name: "BatchTokenize",
            dependencies: [
                "CShims",
                "ShieldConex",
                "Pipeline",
                "Checkpoint",
                "Simulator",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "ShieldConexTests",
            dependencies: [
                "ShieldConex",
                "TestSupport",
                "Simulator",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Fixtures")]
        ),
        // Helpers every test target shares: temporary folders, generated card numbers, launching the binary.
        .target(name: "TestSupport", dependencies: ["Pipeline", "Checkpoint"], path: "Tests/TestSupport"),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite"),
        // zlib, for gzip input and output (the system's libz, as CSQLite is the system's SQLite).
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .target(
            name: "Checkpoint",
            dependencies: ["CSQLite", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: hotPath
        ),
        .testTarget(
            name: "CheckpointTests",
            dependencies: ["Checkpoint", "Simulator", "ShieldConex", "TestSupport", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(
            name: "Pipeline",
            dependencies: [
                "ShieldConex",
                "CZlib",
                "Checkpoint",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: hotPath
        ),
        .testTarget(
            name: "PipelineTests",
            dependencies: [
                "Pipeline", "ShieldConex", "Checkpoint", "Simulator", "TestSupport", .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"), .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        .testTarget(
            name: "BatchTokenizeTests",
            dependencies: ["BatchTokenize", "Pipeline", "ShieldConex", "Checkpoint", "TestSupport"]
        ),
        .testTarget(
            name: "SimulatorTests",
            dependencies: ["Simulator", "ShieldConex", "TestSupport"]
        ),
    ],
    swiftLanguageModes: [.v6]
)

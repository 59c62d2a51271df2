// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "knoxcall",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "knoxcall", targets: ["knoxcall"]),
        .executable(name: "bench-forwarder", targets: ["bench-forwarder"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-atomics", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        .target(name: "KnoxCore"),
        // BoringSSL's AEAD context, reused across opens (BoringSSL itself comes with swift-crypto's Crypto).
        .target(name: "CKnoxAEAD"),
        .target(
            name: "KnoxCrypto",
            dependencies: [
                "KnoxCore", "CKnoxAEAD",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ]),
        .target(
            name: "KnoxStore",
            dependencies: [
                "KnoxCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ]),
        // The narrow port the data plane sees: the configuration, the snapshot it reads and the engine's few services
        // (caller checks, the secret opener, the log sink, the clock). Never the store: KnoxProxy depends on this and
        // not on KnoxEngine, so the compiler keeps SQLite off the request path.
        .target(
            name: "KnoxDataPlane",
            dependencies: [
                "KnoxCore", "KnoxCrypto",
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .target(
            name: "KnoxEngine",
            dependencies: [
                "KnoxCore", "KnoxCrypto", "KnoxStore", "KnoxDataPlane",
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        // What both kinds of listener share on the wire: admission under the connection cap.
        .target(
            name: "KnoxNet",
            dependencies: [
                "KnoxDataPlane",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Atomics", package: "swift-atomics"),
            ]),
        .target(
            name: "KnoxAPI",
            dependencies: [
                "KnoxCore", "KnoxDataPlane", "KnoxEngine", "KnoxNet",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        .target(
            name: "KnoxProxy",
            dependencies: [
                "KnoxCore", "KnoxCrypto", "KnoxDataPlane", "KnoxNet",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: [
                // The data plane's classes are confined to one event loop each; the runtime's dynamic exclusivity checks on
                // their properties cost ~2% of a core per request. Release builds only (scripts/release-build.sh turns them
                // off for every module): the tests' debug build keeps them, so an overlapping access still traps there.
                .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))
            ]),
        .systemLibrary(name: "CNCurses", providers: [.apt(["libncursesw5-dev"])]),
        .target(
            name: "KnoxConsole",
            dependencies: [
                "KnoxCore", "KnoxDataPlane", "KnoxEngine", "CNCurses",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .executableTarget(
            name: "knoxcall",
            dependencies: [
                "KnoxCore", "KnoxDataPlane", "KnoxEngine", "KnoxNet", "KnoxAPI", "KnoxProxy", "KnoxConsole",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        // bench/proxy.sh's yardstick: a bare SwiftNIO forwarder (no KnoxCall code), measured next to nginx and KnoxCall.
        .executableTarget(
            name: "bench-forwarder",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "bench/forwarder"),
        // Fuzz targets over the parsers of untrusted input (fuzz/README.md): replayed by KnoxFuzzTargetsTests in every
        // test run, driven by libFuzzer through knoxcall-fuzz in scripts/fuzz.sh (a build of its own, -sanitize=fuzzer).
        .target(
            name: "KnoxFuzzTargets",
            dependencies: [
                "KnoxCore", "KnoxCrypto", "KnoxDataPlane", "KnoxEngine", "KnoxProxy", "KnoxConsole",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "fuzz/Targets"),
        .executableTarget(name: "knoxcall-fuzz", dependencies: ["KnoxFuzzTargets"], path: "fuzz/Driver"),
        // The tests' child processes: two GNU calls Swift's Glibc module does not export (see ChildProcess.swift).
        .target(name: "CKnoxSpawn", path: "Tests/CKnoxSpawn"),
        // Shared by the test targets: temporary data directories, engines, a fixed clock, a raw HTTP client.
        .target(
            name: "KnoxTestSupport",
            dependencies: [
                "KnoxCore", "KnoxCrypto", "KnoxDataPlane", "KnoxEngine", "CKnoxSpawn",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Tests/KnoxTestSupport"),
        .testTarget(name: "KnoxCoreTests", dependencies: ["KnoxCore"]),
        .testTarget(
            name: "KnoxCryptoTests", dependencies: ["KnoxCrypto", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "KnoxStoreTests", dependencies: ["KnoxStore", "KnoxTestSupport"]),
        .testTarget(
            name: "KnoxEngineTests",
            dependencies: ["KnoxAPI", "KnoxEngine", "KnoxDataPlane", "KnoxStore", "KnoxTestSupport"]),
        .testTarget(name: "KnoxAPITests", dependencies: ["KnoxAPI", "KnoxEngine", "KnoxDataPlane", "KnoxTestSupport"]),
        .testTarget(
            name: "KnoxProxyTests",
            dependencies: [
                "KnoxProxy", "KnoxAPI", "KnoxEngine", "KnoxDataPlane", "KnoxStore", "KnoxTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]),
        .testTarget(
            name: "KnoxConsoleTests",
            dependencies: ["KnoxAPI", "KnoxConsole", "KnoxEngine", "KnoxDataPlane", "KnoxTestSupport"],
            exclude: ["Goldens"]),
        .testTarget(name: "knoxcallTests", dependencies: ["KnoxTestSupport"]),
        .testTarget(name: "KnoxFuzzTargetsTests", dependencies: ["KnoxFuzzTargets"]),
    ],
    swiftLanguageModes: [.v6]
)

// swift-tools-version:5.9
//
// Gridwork for iOS and macOS: the Rust core (a static library inside
// GridworkFFI.xcframework) with its UniFFI-generated Swift API and a thin
// async wrapper. Run `bash ios/build-xcframework.sh` on a Mac first: it builds
// the xcframework next to this file and copies the generated Swift into
// Sources/Gridwork/Generated/. See README.md.
import PackageDescription

let package = Package(
    name: "Gridwork",
    platforms: [
        .iOS(.v15),
        .macOS(.v12),
    ],
    products: [
        .library(name: "Gridwork", targets: ["Gridwork"]),
    ],
    targets: [
        // The C side of the bindings: libgridwork_ffi.a per platform plus the
        // header and module map of the Clang module `GridworkFFIFFI`, which the
        // generated GridworkFFI.swift imports.
        .binaryTarget(
            name: "GridworkFFIFFI",
            path: "GridworkFFI.xcframework"
        ),
        // The generated bindings (Generated/GridworkFFI.swift) and the
        // hand-written wrapper (Gridwork.swift), one Swift module.
        .target(
            name: "Gridwork",
            dependencies: ["GridworkFFIFFI"],
            path: "Sources/Gridwork",
            linkerSettings: [
                // What the Rust static library needs from the system: the
                // platform TLS verifier (rustls-platform-verifier) and libiconv
                // (Rust's libc crate).
                .linkedFramework("Security"),
                .linkedFramework("CoreFoundation"),
                .linkedLibrary("iconv"),
            ]
        ),
        .testTarget(
            name: "GridworkTests",
            dependencies: ["Gridwork"],
            path: "Tests/GridworkTests"
        ),
    ]
)

#!/usr/bin/env bash
# Build GridworkFFI.xcframework (the Rust core as a static library for iOS,
# the iOS simulator and macOS) and the generated Swift API, for the Swift
# package in this directory.
#
#   bash ios/build-xcframework.sh          # on a Mac with Xcode and rustup
#
# Produces (both ignored by git):
#   ios/GridworkFFI.xcframework/                 the binaryTarget GridworkFFIFFI
#   ios/Sources/Gridwork/Generated/GridworkFFI.swift
#
# Slices:
#   ios-arm64                     aarch64-apple-ios
#   ios-arm64_x86_64-simulator    aarch64-apple-ios-sim + x86_64-apple-ios (lipo)
#   macos-arm64_x86_64            aarch64-apple-darwin + x86_64-apple-darwin (lipo)
#
# Environment:
#   IPHONEOS_DEPLOYMENT_TARGET (default 15.0), MACOSX_DEPLOYMENT_TARGET
#   (default 12.0): the minimum OS versions, matching Package.swift.
#   CARGO_TARGET_DIR: honoured, like any cargo build.
set -euo pipefail

die() {
  echo "build-xcframework.sh: $*" >&2
  exit 1
}

[ "$(uname -s)" = "Darwin" ] ||
  die "this builds Apple static libraries and needs macOS with Xcode (uname says $(uname -s)); nothing was built"
command -v xcodebuild >/dev/null 2>&1 ||
  die "xcodebuild not found: install Xcode (not only the Command Line Tools) and run 'sudo xcode-select -s /Applications/Xcode.app'"
xcodebuild -version >/dev/null 2>&1 ||
  die "xcodebuild does not run (Command Line Tools selected?): run 'sudo xcode-select -s /Applications/Xcode.app'"
command -v xcrun >/dev/null 2>&1 || die "xcrun not found: install Xcode"
command -v cargo >/dev/null 2>&1 || die "cargo not found: install Rust with rustup (https://rustup.rs)"
command -v rustup >/dev/null 2>&1 ||
  die "rustup not found: the Apple targets are installed with rustup (https://rustup.rs)"

targets=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin x86_64-apple-darwin)
installed="$(rustup target list --installed)"
missing=()
for target in "${targets[@]}"; do
  grep -qx "$target" <<<"$installed" || missing+=("$target")
done
[ "${#missing[@]}" -eq 0 ] ||
  die "missing Rust targets: ${missing[*]} — install them with: rustup target add ${missing[*]}"

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

export IPHONEOS_DEPLOYMENT_TARGET="${IPHONEOS_DEPLOYMENT_TARGET:-15.0}"
export MACOSX_DEPLOYMENT_TARGET="${MACOSX_DEPLOYMENT_TARGET:-12.0}"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
lib_name="libgridwork_ffi.a"

# 1. The static library for every target (release; only the staticlib crate
#    type, so no iOS cdylib or executables are linked).
for target in "${targets[@]}"; do
  echo "==> cargo: gridwork-ffi for $target"
  cargo rustc -q -p gridwork-ffi --lib --release --target "$target" --crate-type staticlib
  [ -s "$target_dir/$target/release/$lib_name" ] || die "cargo produced no $target/release/$lib_name"
done

work="$target_dir/xcframework"
rm -rf "$work"
mkdir -p "$work/ios-simulator" "$work/macos" "$work/include" "$work/swift"

# 2. Fat libraries: one simulator slice (arm64 + x86_64), one macOS slice.
echo "==> lipo"
xcrun lipo -create \
  "$target_dir/aarch64-apple-ios-sim/release/$lib_name" \
  "$target_dir/x86_64-apple-ios/release/$lib_name" \
  -output "$work/ios-simulator/$lib_name"
xcrun lipo -create \
  "$target_dir/aarch64-apple-darwin/release/$lib_name" \
  "$target_dir/x86_64-apple-darwin/release/$lib_name" \
  -output "$work/macos/$lib_name"

# 3. Swift bindings from one built library (UniFFI library mode) with the
#    workspace's own uniffi-bindgen, built for the host, so the bindings match
#    the library's scaffolding. Settings come from bindings/uniffi.toml.
echo "==> uniffi-bindgen: Swift"
cargo build -q -p gridwork-ffi --release --bin uniffi-bindgen
"$target_dir/release/uniffi-bindgen" generate \
  --library "$target_dir/aarch64-apple-ios/release/$lib_name" \
  --language swift --out-dir "$work/swift" --no-format >/dev/null
for file in GridworkFFI.swift GridworkFFIFFI.h GridworkFFIFFI.modulemap; do
  [ -s "$work/swift/$file" ] || die "uniffi-bindgen produced no $file"
done
grep -q "class GridworkStore" "$work/swift/GridworkFFI.swift" ||
  die "the generated GridworkFFI.swift has no GridworkStore"

# 4. Headers: the C header and the module map, which an xcframework must name
#    module.modulemap. The `use "_Builtin_…"` lines UniFFI writes name Clang
#    builtin modules that Xcode 26 and later no longer provide (uniffi-rs
#    issue 2917); without them the module is the same.
cp "$work/swift/GridworkFFIFFI.h" "$work/include/"
grep -v 'use "_Builtin_' "$work/swift/GridworkFFIFFI.modulemap" >"$work/include/module.modulemap"
grep -q '^module GridworkFFIFFI' "$work/include/module.modulemap" ||
  die "unexpected module map: $(head -n1 "$work/include/module.modulemap")"

# 5. The xcframework.
echo "==> xcodebuild -create-xcframework"
out="$here/GridworkFFI.xcframework"
rm -rf "$out"
xcodebuild -create-xcframework \
  -library "$target_dir/aarch64-apple-ios/release/$lib_name" -headers "$work/include" \
  -library "$work/ios-simulator/$lib_name" -headers "$work/include" \
  -library "$work/macos/$lib_name" -headers "$work/include" \
  -output "$out" >/dev/null

# 6. The generated Swift goes into the package's Swift target.
generated="$here/Sources/Gridwork/Generated"
rm -rf "$generated"
mkdir -p "$generated"
cp "$work/swift/GridworkFFI.swift" "$generated/"

echo "built $out"
echo "generated $generated/GridworkFFI.swift"
echo "next: cd ios && swift build   (tests: bash bindings/with-test-server.sh swift test --package-path ios)"

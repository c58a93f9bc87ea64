#!/usr/bin/env bash
# Generate the Kotlin, Swift and Python bindings from the host-built library
# (UniFFI library mode): target/bindings/{kotlin,swift,python}.
#
#   bash bindings/generate.sh            # dev profile (what CI builds and tests)
#   PROFILE=release bash bindings/generate.sh
#
# Settings (package and module names) come from bindings/uniffi.toml, which
# library mode reads from the crate. The generator is this workspace's own `uniffi-bindgen` binary, so the
# bindings always match the library's scaffolding version.
set -euo pipefail
cd "$(dirname "$0")/.."

profile="${PROFILE:-debug}"
cargo_flags=()
if [ "$profile" = "release" ]; then cargo_flags+=(--release); fi
cargo build -q -p gridwork-ffi "${cargo_flags[@]}"

case "$(uname -s)" in
  Darwin) lib="target/$profile/libgridwork_ffi.dylib" ;;
  *) lib="target/$profile/libgridwork_ffi.so" ;;
esac
bindgen="target/$profile/uniffi-bindgen"
out="target/bindings"
rm -rf "$out"
for language in kotlin swift python; do
  "$bindgen" generate --library "$lib" --language "$language" \
    --out-dir "$out/$language" --no-format >/dev/null
done
# The Python module loads the library from its own directory.
cp "$lib" "$out/python/"

# Check that every language was produced with the store API in it.
test -s "$out/kotlin/cn/gridwork/core/gridwork_ffi.kt"
grep -q "class GridworkStore" "$out/kotlin/cn/gridwork/core/gridwork_ffi.kt"
test -s "$out/swift/GridworkFFI.swift"
grep -q "class GridworkStore" "$out/swift/GridworkFFI.swift"
test -s "$out/swift/GridworkFFIFFI.h"
test -s "$out/swift/GridworkFFIFFI.modulemap"
test -s "$out/python/gridwork_ffi.py"
grep -q "class GridworkStore" "$out/python/gridwork_ffi.py"
echo "bindings generated in $out (kotlin, swift, python) from $lib"

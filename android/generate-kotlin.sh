#!/usr/bin/env bash
# Generate the Kotlin bindings the Android module compiles from a built gridwork-ffi
# library (UniFFI library mode), with the settings of bindings/uniffi.toml:
#
#   bash android/generate-kotlin.sh LIBRARY OUT_DIR
#
# LIBRARY may be the host library (target/debug/libgridwork_ffi.so, for android/jvm-test)
# or one of the Android .so files (android/build-rust.sh): the metadata is the same. The
# generator is the workspace's own uniffi-bindgen, built for the host here, so it always
# matches the library's scaffolding version.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
[ $# -eq 2 ] || { echo "usage: $0 LIBRARY OUT_DIR" >&2; exit 2; }
lib="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
mkdir -p "$2"
out="$(cd "$2" && pwd)"
[ -f "$lib" ] || { echo "generate-kotlin.sh: no library at $1" >&2; exit 1; }

cd "$root"
cargo build -q -p gridwork-ffi --bin uniffi-bindgen
rm -rf "$out"
target/debug/uniffi-bindgen generate --library "$lib" --language kotlin \
  --out-dir "$out" --no-format >/dev/null
kt="$out/cn/gridwork/core/gridwork_ffi.kt"
test -s "$kt"
grep -q "class GridworkStore" "$kt"
echo "kotlin bindings generated in $out from $lib"

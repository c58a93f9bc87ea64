#!/usr/bin/env bash
# Build the Rust core for Android and generate its Kotlin bindings, for the Gradle
# module in this directory:
#
#   bash android/build-rust.sh            # from any directory
#
#   1. `cargo ndk` builds gridwork-ffi in release for arm64-v8a, armeabi-v7a and x86_64
#      into android/src/main/jniLibs/<abi>/libgridwork_ffi.so;
#   2. the workspace's own uniffi-bindgen (a host build) generates Kotlin in library mode
#      from one of those .so files into android/build/generated/uniffi/kotlin, with
#      bindings/uniffi.toml (android/generate-kotlin.sh).
#
# Needs: cargo-ndk (`cargo install cargo-ndk`), the Android NDK (ANDROID_NDK_HOME, or
# ANDROID_NDK_ROOT / ANDROID_HOME/ndk/<version>), and the Rust targets
# (`rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android`).
# SQLCipher's vendored OpenSSL is cross-compiled too: the first build takes a while.
#
# Not run in CI: CI has no NDK. CI checks the same generated Kotlin and the facade on the
# desktop JVM instead (android/jvm-test/run.sh).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
abis=(arm64-v8a armeabi-v7a x86_64)
rust_targets=(aarch64-linux-android armv7-linux-androideabi x86_64-linux-android)
min_sdk=24 # as in build.gradle.kts

fail() { echo "build-rust.sh: $*" >&2; exit 1; }

if ! cargo ndk --version >/dev/null 2>&1; then
  fail "cargo-ndk is not installed. Install it with: cargo install cargo-ndk"
fi

if [ -z "${ANDROID_NDK_HOME:-}" ]; then
  if [ -n "${ANDROID_NDK_ROOT:-}" ]; then
    ANDROID_NDK_HOME="$ANDROID_NDK_ROOT"
  elif [ -n "${ANDROID_HOME:-}" ] && [ -d "$ANDROID_HOME/ndk" ]; then
    # The newest side-by-side NDK of the SDK.
    ANDROID_NDK_HOME="$(ls -d "$ANDROID_HOME"/ndk/*/ 2>/dev/null | sort -V | tail -n1)"
    ANDROID_NDK_HOME="${ANDROID_NDK_HOME%/}"
  fi
fi
if [ -z "${ANDROID_NDK_HOME:-}" ] || [ ! -d "$ANDROID_NDK_HOME" ]; then
  fail "the Android NDK was not found. Install it (Android Studio: SDK Manager > SDK Tools > NDK, or sdkmanager \"ndk;<version>\") and set ANDROID_NDK_HOME to its directory."
fi
[ -f "$ANDROID_NDK_HOME/source.properties" ] \
  || fail "ANDROID_NDK_HOME=$ANDROID_NDK_HOME does not look like an NDK (no source.properties)."
export ANDROID_NDK_HOME

if command -v rustup >/dev/null 2>&1; then
  installed="$(rustup target list --installed)"
  for t in "${rust_targets[@]}"; do
    grep -qx "$t" <<<"$installed" \
      || fail "the Rust target $t is missing. Add it with: rustup target add ${rust_targets[*]}"
  done
fi

cd "$root"
jni="$here/src/main/jniLibs"
ndk_args=()
for abi in "${abis[@]}"; do ndk_args+=(-t "$abi"); done
echo "== cargo ndk: gridwork-ffi (release) for ${abis[*]}"
cargo ndk "${ndk_args[@]}" --platform "$min_sdk" -o "$jni" \
  build --release -p gridwork-ffi --lib

for abi in "${abis[@]}"; do
  [ -s "$jni/$abi/libgridwork_ffi.so" ] || fail "missing $jni/$abi/libgridwork_ffi.so after the build"
done

echo "== uniffi-bindgen: Kotlin bindings"
bash "$here/generate-kotlin.sh" "$jni/arm64-v8a/libgridwork_ffi.so" "$here/build/generated/uniffi/kotlin"
echo "native libraries in $jni; bindings in $here/build/generated/uniffi/kotlin"

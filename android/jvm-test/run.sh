#!/usr/bin/env bash
# Build the host library, generate the Kotlin bindings, start a real gridwork-server
# and run the JVM tests of the bindings and the Android facade (android/jvm-test).
#
#   bash android/jvm-test/run.sh [MAVEN ARGS…]     # from any directory
#
# Needs Rust, JDK 17 and Maven (3.8+), Python 3 (for with-test-server.sh). The Maven
# repository lives in the clone (target/m2, never ~/.m2): the first run downloads the
# Kotlin compiler, coroutines, JNA and JUnit from Maven Central. Build output goes to
# target/jvm-test, cleaned first (the Kotlin plugin compiles everything each time anyway,
# and a stale class of a deleted test must not run). Exits non-zero when anything fails.
#
# The Kotlin compiled is bindings/generate.sh's target/bindings/kotlin, the same
# library-mode output android/build-rust.sh generates for the Android module.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

command -v mvn >/dev/null || { echo "run.sh: mvn not found (install Maven 3.8+ and JDK 17)" >&2; exit 1; }

# The host library (target/debug/libgridwork_ffi.so) and every language's bindings.
bash bindings/generate.sh
# with-test-server.sh builds the server only when it is missing; keep it current.
cargo build -q -p gridwork-server

bash bindings/with-test-server.sh \
  mvn -B --no-transfer-progress -Dmaven.repo.local="$root/target/m2" \
  -f android/jvm-test/pom.xml clean test "$@"

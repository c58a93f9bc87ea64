#!/usr/bin/env bash
# Fuzz the parsers and engines that take untrusted input (issue 12 §5), each
# target for SECONDS_PER_TARGET seconds (default 20; CI runs the default):
#
#   bash tests/fuzz.sh            # CI: ~20 s per target after the build
#   bash tests/fuzz.sh 600        # longer: 10 minutes per target
#   bash tests/fuzz.sh 600 expr_parse sync_engine   # only some targets
#   bash tests/fuzz.sh --seeds    # regenerate fuzz/corpus/ (fuzz/examples/seeds.rs)
#
# Targets (fuzz/fuzz_targets/): the sync body decoder, the sync engine on
# decoded requests, doc load + materialisation, the XLSForm importer, the
# expression parser, the register import from CSV and from XLSX.
#
# Installs what it needs: the nightly toolchain (minimal profile) and
# cargo-fuzz. Builds once in release with debug assertions (overflow checks)
# and no sanitizer: the code under test is safe Rust, so panics are what we
# look for, and an ASan build would cost minutes more for little. Each run
# starts from the committed seeds (fuzz/corpus/<target>) plus what earlier
# runs found (fuzz/work/<target>). Prints executions and crashes per target
# and a final table; exits non-zero on any crash, naming the artifact (a
# crashing input in fuzz/artifacts/<target>/; replay it with
# `cargo +nightly fuzz run -a -s none --fuzz-dir fuzz <target> <artifact>`).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=(-a -s none)
ALL=(sync_decode sync_engine doc_materialize xlsform_import expr_parse register_import_csv register_import_xlsx)

if ! rustup toolchain list | grep -q '^nightly'; then
    rustup toolchain install nightly --profile minimal
fi
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

if [ "${1:-}" = "--seeds" ]; then
    # The seed writer links against the targets' instrumented build, so it
    # needs cargo-fuzz's flags (see cargo-fuzz's project.rs) and libFuzzer.
    cargo +nightly fuzz build --fuzz-dir fuzz "${BUILD[@]}"
    RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing \
-Cllvm-args=-simplifycfg-branch-fold-threshold=0 -Cllvm-args=-sanitizer-coverage-stack-depth \
-Cdebug-assertions -Ccodegen-units=1" \
        cargo +nightly build --manifest-path fuzz/Cargo.toml --release \
        --target "$(rustc +nightly -vV | sed -n 's/^host: //p')" --example seeds
    rm -rf fuzz/corpus
    "fuzz/target/$(rustc +nightly -vV | sed -n 's/^host: //p')/release/examples/seeds"
    exit 0
fi

SECONDS_PER_TARGET="${1:-20}"
shift || true
TARGETS=("${ALL[@]}")
if [ $# -gt 0 ]; then TARGETS=("$@"); fi

# Longest input per target: room for real inputs (seeds are ≤ 8 KiB), small
# enough to keep executions fast.
max_len() {
    case "$1" in
        expr_parse) echo 4096 ;;
        doc_materialize | register_import_csv) echo 16384 ;;
        *) echo 65536 ;;
    esac
}

start=$(date +%s)
cargo +nightly fuzz build --fuzz-dir fuzz "${BUILD[@]}"
echo "fuzz: build took $(($(date +%s) - start)) s"

failed=0
rows=()
for target in "${TARGETS[@]}"; do
    work="fuzz/work/$target"
    artifacts="fuzz/artifacts/$target"
    mkdir -p "$work" "$artifacts" "fuzz/corpus/$target"
    log="fuzz/work/$target.log"
    echo "== fuzz $target for ${SECONDS_PER_TARGET}s"
    status=0
    cargo +nightly fuzz run --fuzz-dir fuzz "${BUILD[@]}" "$target" "$work" "fuzz/corpus/$target" -- \
        -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -max_len="$(max_len "$target")" \
        -timeout=60 -print_final_stats=1 -artifact_prefix="$artifacts/" \
        >"$log" 2>&1 || status=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    crashes=0
    if [ "$status" -ne 0 ]; then
        crashes=1
        failed=1
        grep -E "panicked|ERROR: libFuzzer|SUMMARY|Test unit written to|artifact" "$log" | head -20 || true
        tail -40 "$log"
        echo "fuzz: $target CRASHED (exit $status); log $log"
    fi
    echo "fuzz: $target: ${execs:-0} executions, ${speed:-0} exec/s, $crashes crashes"
    rows+=("$(printf '%-22s %12s %9s %8s' "$target" "${execs:-0}" "${speed:-0}" "$crashes")")
done

echo
printf '%-22s %12s %9s %8s\n' target execs exec/s crashes
for row in "${rows[@]}"; do echo "$row"; done
exit "$failed"

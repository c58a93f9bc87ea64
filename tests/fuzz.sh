#!/usr/bin/env bash
# Fuzz every decoder and importer that takes input from outside (issue 12 §5):
#   bash tests/fuzz.sh [SECONDS_PER_TARGET]      (default 20; .ci/run uses the default)
#   bash tests/fuzz.sh 600                        a longer run, 10 minutes a target
#   FUZZ_SANITIZER=address bash tests/fuzz.sh 600 with AddressSanitizer (slower build and runs)
#   FUZZ_TARGETS="sync_engine expr_parse" bash tests/fuzz.sh 300   only some targets
#
# Installs what it needs (a minimal nightly toolchain, cargo-fuzz), builds all targets once
# (fuzz/ is its own workspace, fuzz/target its build), runs each with libFuzzer for the given
# time over its corpus in fuzz/corpus/<target> (kept between runs, not committed), and prints
# a table: target, executions, executions/s, crashes. A crash stops nothing else but makes the
# script exit 1; its input is kept in fuzz/artifacts/<target>/ and its path is printed.
# The default sanitizer is none: the code under test is safe Rust over SQLCipher, a panic is
# what we look for, and without instrumentation the build takes minutes less and runs ~2x faster.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-20}"
sanitizer="${FUZZ_SANITIZER:-none}"
targets=(${FUZZ_TARGETS:-sync_decode sync_engine doc_materialize xlsform_import expr_parse register_import_csv register_import_xlsx})

if ! rustup toolchain list | grep -q '^nightly'; then
    echo "fuzz: installing a minimal nightly toolchain"
    rustup toolchain install nightly --profile minimal
fi
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz"
    cargo +stable install cargo-fuzz --locked
fi

cd fuzz
echo "fuzz: building ${#targets[@]} targets (sanitizer: $sanitizer)"
cargo +nightly fuzz build --sanitizer "$sanitizer"

# Small seeds so the text-shaped targets start past their first bytes.
seed() { mkdir -p "corpus/$1"; printf '%s' "$3" > "corpus/$1/seed-$2"; }
seed expr_parse 1 '${age} >= 60 and selected(${groups}, '"'"'elderly'"'"')'
seed expr_parse 2 'not(${a} = 1) or string-length(.) > 3'
seed register_import_csv 1 $'\xef\xbb\xbf地址,户主,电话,姓名,身份证号\n幸福里1号,张三,13900000000,张三,110101199003070000\n'
# Workbooks as text (see gridwork_fuzz::text_workbook): an odd first byte, `#sheet`, cells `|`.
seed register_import_xlsx 1 $'1#households\n地址|户主|电话\n幸福里1号|张三|13900000000\n'
seed xlsform_import 1 $'1#survey\ntype|name|label|relevant\ninteger|age|年龄|\nselect_one yn|ok|好吗|${age} > 60\n#choices\nlist_name|name|label\nyn|yes|是\nyn|no|否\n#settings\nform_id|version\nvisit|=3\n'

failed=0
summary=()
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target" "artifacts/$target"
    max_len=4096
    case "$target" in
        *xlsx* | xlsform_import | doc_materialize | sync_engine) max_len=65536 ;;
    esac
    log="artifacts/$target/last-run.log"
    set +e
    cargo +nightly fuzz run --sanitizer "$sanitizer" "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -max_len="$max_len" -timeout=20 \
        -print_final_stats=1 -artifact_prefix="artifacts/$target/" >"$log" 2>&1
    status=$?
    set -e
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    execs=${execs:-0}
    crashes=0
    if [ "$status" -ne 0 ]; then
        crashes=1
        failed=1
        echo "fuzz: $target FAILED (exit $status); the input and the output:" >&2
        grep -E 'Test unit written to|panicked|ERROR' "$log" | head -20 >&2 || true
        tail -40 "$log" >&2
    fi
    rate=$(( execs / (seconds > 0 ? seconds : 1) ))
    summary+=("$(printf '%-22s %12s %10s %8s' "$target" "$execs" "$rate" "$crashes")")
    echo "fuzz: $target: $execs executions in ${seconds}s, crashes: $crashes"
done

echo
printf '%-22s %12s %10s %8s\n' target executions 'execs/s' crashes
printf '%s\n' "${summary[@]}"
exit "$failed"

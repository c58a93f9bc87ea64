#!/usr/bin/env bash
# Run a command against a real gridwork-server on 127.0.0.1 (for the
# Kotlin/JVM and Python binding tests), then stop the server.
#
#   bash bindings/with-test-server.sh COMMAND [ARGS…]
#
# Uses the dev-profile binaries (target/debug/gridwork-server, built by
# `cargo build --workspace`). Sets up a town T1 → C1 → C1-1 → grids G1, G2,
# two gridworkers of G1 (gw-a, gw-b) and one of G2 (gw-c), and exports:
#   GRIDWORK_TEST_SERVER   base URL, e.g. http://127.0.0.1:41234
#   GRIDWORK_TEST_TOKEN_A  device token of gw-a (grid G1)
#   GRIDWORK_TEST_TOKEN_B  device token of gw-b (grid G1)
#   GRIDWORK_TEST_TOKEN_C  device token of gw-c (grid G2)
#   GRIDWORK_TEST_ADMIN    "gridwork-server admin --data-dir DIR" (to publish templates, …)
# The data directory lives under target/ and is removed afterwards.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
server="$root/target/debug/gridwork-server"
[ -x "$server" ] || cargo build -q -p gridwork-server --manifest-path "$root/Cargo.toml"

data="$(mktemp -d "$root/target/test-server.XXXXXX")"
log="$data/server.log"
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$data"
}
trap cleanup EXIT

admin() { "$server" admin --data-dir "$data/server" "$@"; }
admin grid add T1 --name 演示镇 >/dev/null
admin grid add C1 --name 幸福社区 --parent T1 >/dev/null
admin grid add C1-1 --name 片区一 --parent C1 >/dev/null
admin grid add G1 --name 第一网格 --parent C1-1 >/dev/null
admin grid add G2 --name 第二网格 --parent C1-1 >/dev/null
token_of() {
  admin worker add "$1" --name 网格员 --role gridworker --grid "$2" >/dev/null
  admin token issue "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}
GRIDWORK_TEST_TOKEN_A="$(token_of gw-a G1)"
GRIDWORK_TEST_TOKEN_B="$(token_of gw-b G1)"
GRIDWORK_TEST_TOKEN_C="$(token_of gw-c G2)"
export GRIDWORK_TEST_TOKEN_A GRIDWORK_TEST_TOKEN_B GRIDWORK_TEST_TOKEN_C
export GRIDWORK_TEST_ADMIN="$server admin --data-dir $data/server"

: >"$log"
RUST_LOG=warn "$server" serve --listen 127.0.0.1:0 --data-dir "$data/server" >"$log" 2>&1 &
pid=$!
for _ in $(seq 1 200); do
  url="$(sed -n 's/^listening on //p' "$log" | head -n1)"
  [ -n "$url" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; echo "gridwork-server exited" >&2; exit 1; }
  sleep 0.05
done
[ -n "${url:-}" ] || { echo "gridwork-server did not start" >&2; exit 1; }
export GRIDWORK_TEST_SERVER="$url"

"$@"

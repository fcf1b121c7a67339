#!/usr/bin/env bash
# `livedrop put` / `livedrop get` of one file against `curl` moving the same
# bytes to and from the same release-built server's signed URLs, in the same
# run, over loopback. A benchmark, not a test: it prints the figures and the
# ratios (curl's time / livedrop's time; 1.0 means as fast as curl, the
# target is at least 0.8).
#
#   benches/cli_transfer.sh [SIZE_MIB=1024] [RUNS=3]
#
# It builds target/release/livedrop first (LIVEDROP_BENCH_NO_BUILD=1 skips that).
#
# What is timed:
#   livedrop put  the whole command: CRC32C of the file, begin, bytes, complete
#   curl PUT      the bytes only, in one request to the same resumable session
#                 URL the API hands out (begin and complete are not timed)
#   livedrop get  the whole command: resolve, signed URL, bytes + CRC32C, rename
#   curl GET      the bytes only, from the same signed URL (to a file)
# Every timed step starts after a `sync`, and livedrop and curl take turns at
# going first, so that neither pays for the other's disk writeback (on a
# shared machine the second of two back-to-back 1 GiB writes is the slower).
# The median of RUNS runs of each is compared. Peak memory (max RSS) of the
# livedrop client is shown when /usr/bin/time is there.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE_MIB=${1:-1024}
RUNS=${2:-3}
SIZE=$((SIZE_MIB * 1024 * 1024))
for tool in curl python3; do
  command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 2; }
done

[ -n "${LIVEDROP_BENCH_NO_BUILD:-}" ] || cargo build --release --quiet --bin livedrop
BIN=$PWD/target/release/livedrop
WORK=$(mktemp -d "${TMPDIR:-/tmp}/livedrop-bench.XXXXXX")
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT
LIVEDROP_LOG=warn "$BIN" serve --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" --web-dir "$WORK/no-web" \
  2>"$WORK/serve.log" &
SERVER_PID=$!
for _ in $(seq 100); do
  curl -sf "$BASE/api/health" >/dev/null 2>&1 && break
  sleep 0.1
done

export LIVEDROP_CONFIG_DIR=$WORK/config
unset LIVEDROP_SERVER LIVEDROP_TOKEN LIVEDROP_CHUNK_SIZE
echo 'benchmark-password' | "$BIN" signup -q --server "$BASE" --email bench@example.com --password-stdin >/dev/null
TOKEN=$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); print(next(iter(c["servers"].values()))["token"])' \
  "$LIVEDROP_CONFIG_DIR/credentials.json")
AUTH="Authorization: Bearer $TOKEN"

echo "making a ${SIZE_MIB} MiB file of random bytes..."
head -c "$SIZE" /dev/urandom >"$WORK/file.bin"

json() { python3 -c 'import json,sys; v=json.load(sys.stdin)
for k in sys.argv[1].split("."): v=v[int(k)] if k.isdigit() else v[k]
print(v)' "$1"; }
now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.3f}')"; }
TIMED=()
if [ -x /usr/bin/time ]; then TIMED=(/usr/bin/time -f %M -o "$WORK/rss"); fi
rss() { if [ -s "$WORK/rss" ]; then echo "$(( $(tail -1 "$WORK/rss") / 1024 )) MiB"; else echo "?"; fi; }

declare -a CLI_PUT CURL_PUT CLI_GET CURL_GET
for run in $(seq "$RUNS"); do
  # Each timed step starts with no dirty pages left by the step before
  # (`sync`), and who goes first alternates, so that neither pays for the
  # other's writeback.
  cli_put() {
    sync
    t0=$(now)
    "${TIMED[@]}" "$BIN" put -q --json --name "cli-$run.bin" "$WORK/file.bin" >"$WORK/put.json"
    t1=$(now)
    CLI_PUT+=("$(elapsed "$t0" "$t1")"); PUT_RSS=$(rss)
  }
  # curl PUT of the same bytes to a resumable session of the same server
  curl_put() {
    BEGIN=$(curl -sf -H "$AUTH" -H 'content-type: application/json' \
      -d "{\"name\":\"curl-$run.bin\",\"size\":$SIZE,\"crc32c\":\"$CRC\"}" "$BASE/api/uploads")
    CURL_ID=$(echo "$BEGIN" | json file.id)
    START=$(echo "$BEGIN" | json upload.url)
    LOCATION=$(curl -sf -D - -o /dev/null -X POST -H 'x-goog-resumable: start' -H 'content-length: 0' "$BASE$START" \
      | tr -d '\r' | awk 'tolower($1) == "location:" { print $2 }')
    sync
    t0=$(now)
    curl -sf -o /dev/null -H 'Expect:' -H "Content-Range: bytes 0-$((SIZE - 1))/$SIZE" \
      -T "$WORK/file.bin" "$BASE$LOCATION"
    t1=$(now)
    CURL_PUT+=("$(elapsed "$t0" "$t1")")
    curl -sf -o /dev/null -H "$AUTH" -H 'content-type: application/json' -d '{}' "$BASE/api/uploads/$CURL_ID/complete"
  }
  if [ "$run" = 1 ]; then
    # The checksum curl declares comes from livedrop's first upload.
    cli_put; CRC=$(json files.0.crc32c <"$WORK/put.json"); curl_put
  elif [ $((run % 2)) = 1 ]; then cli_put; curl_put; else curl_put; cli_put; fi
  ID=$(json files.0.id <"$WORK/put.json")

  cli_get() {
    rm -f "$WORK/out-cli.bin"
    sync
    t0=$(now)
    "${TIMED[@]}" "$BIN" get -q "$ID" -o "$WORK/out-cli.bin" >/dev/null
    t1=$(now)
    CLI_GET+=("$(elapsed "$t0" "$t1")"); GET_RSS=$(rss)
  }
  curl_get() {
    URL=$(curl -sf -H "$AUTH" -H 'content-type: application/json' -d '{}' "$BASE/api/files/$ID/download" | json url)
    rm -f "$WORK/out-curl.bin"
    sync
    t0=$(now)
    curl -sf -o "$WORK/out-curl.bin" "$BASE$URL"
    t1=$(now)
    CURL_GET+=("$(elapsed "$t0" "$t1")")
  }
  if [ $((run % 2)) = 1 ]; then cli_get; curl_get; else curl_get; cli_get; fi

  cmp -s "$WORK/out-cli.bin" "$WORK/file.bin" || { echo "livedrop get returned other bytes" >&2; exit 1; }
  rm -f "$WORK/out-cli.bin" "$WORK/out-curl.bin"
  "$BIN" rm -q "$ID" "$CURL_ID" >/dev/null
  echo "run $run: put livedrop ${CLI_PUT[-1]}s curl ${CURL_PUT[-1]}s | get livedrop ${CLI_GET[-1]}s curl ${CURL_GET[-1]}s"
done

python3 - "$SIZE" "$PUT_RSS" "$GET_RSS" "${CLI_PUT[*]}" "${CURL_PUT[*]}" "${CLI_GET[*]}" "${CURL_GET[*]}" <<'PY'
import statistics, sys
size = int(sys.argv[1]); put_rss, get_rss = sys.argv[2], sys.argv[3]
cli_put, curl_put, cli_get, curl_get = ([float(x) for x in a.split()] for a in sys.argv[4:8])
mib = size / 2**20
def line(what, cli, curl, rss):
    c, k = statistics.median(cli), statistics.median(curl)
    print(f"{what}: livedrop {c:.2f} s ({mib / c:.0f} MiB/s, max RSS {rss}), "
          f"curl {k:.2f} s ({mib / k:.0f} MiB/s): ratio {k / c:.2f}")
print(f"\n{mib:.0f} MiB over loopback, median of {len(cli_put)} runs")
line("put", cli_put, curl_put, put_rss)
line("get", cli_get, curl_get, get_rss)
PY

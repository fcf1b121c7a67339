#!/usr/bin/env bash
# livedrop's benchmark suite, in one command (not part of the test run):
#
#   bash benches/run.sh            # the full suite; writes benches/RESULTS.md (~10 min after the build)
#   bash benches/run.sh --quick    # small sizes, a smoke test; writes target/bench-quick.md
#   bash benches/run.sh --only feed --subscribers 10000   # writes target/bench-partial.md
#
# Installs nginx from apt when it is missing, builds livedrop in release,
# then runs benches/suite (see benches/README.md). The servers it starts
# listen on 127.0.0.1 only and are stopped by PID when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }

if ! have nginx; then
  echo "run.sh: installing nginx-light (with the WebDAV module) from apt" >&2
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  # Keep the package from starting the system's nginx on port 80: the suite
  # runs its own. A policy-rc.d that answers 101 forbids service starts.
  policy=/usr/sbin/policy-rc.d
  made_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
    made_policy=1
  fi
  install_nginx() {
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light
  }
  if ! install_nginx; then
    $sudo apt-get update -qq
    install_nginx
  fi
  [ -z "$made_policy" ] || $sudo rm -f "$policy"
fi
for tool in taskset getconf sync; do
  have "$tool" || { echo "run.sh: $tool is missing (util-linux / coreutils / libc-bin)" >&2; exit 1; }
done

# livedrop, and the Vercel functions (api/*.rs) whose size and start part 4 measures.
cargo build --release --bins
# Build the suite once and run that executable (another `cargo bench` would
# rebuild whenever the tree changed in between).
suite=$(cargo bench --bench suite --no-run --message-format=json |
  grep '"name":"suite"' | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
[ -x "$suite" ] || { echo "run.sh: could not build benches/suite" >&2; exit 1; }

# 10,000 WebSocket subscribers need more than 10,000 descriptors in the server
# and in the load generator (both inherit this limit).
hard=$(ulimit -Hn)
ulimit -n "$hard"
if [ "$hard" != unlimited ] && [ "$hard" -lt 10240 ]; then
  echo "run.sh: warning: at most $hard open files; 10,000 subscribers will not fit" >&2
fi

out=benches/RESULTS.md
quick=""
# Part 5 (zip) runs in Chromium (web/bench/zip.bench.ts), not in the suite:
# it is taken out of --only's list here and run after the suite.
zip=1
args=()
expect_only=""
for arg in "$@"; do
  if [ -n "$expect_only" ]; then
    expect_only=""
    case ",$arg," in *,zip,*) zip=1 ;; *) zip="" ;; esac
    arg=$(printf '%s' "$arg" | tr ',' '\n' | { grep -vx zip || true; } | paste -sd, -)
    [ -n "$arg" ] || { suite_parts=none; continue; }
    args+=(--only "$arg")
    continue
  fi
  case "$arg" in
    --quick) out=target/bench-quick.md; quick=1; args+=("$arg") ;;
    --only) [ -n "$quick" ] || out=target/bench-partial.md; expect_only=1 ;;
    *) args+=("$arg") ;;
  esac
done
export BENCH_COMMAND="bash benches/run.sh${*:+ $*}"
if [ "${suite_parts:-}" != none ]; then
  "$suite" --out "$out" "${args[@]}"
else
  : >"$out"
fi
if [ -n "$zip" ]; then
  # The web app as served, and Chromium (as scripts/test.sh installs it).
  (cd web && { [ -d node_modules ] || npm install --no-audit --no-fund --loglevel=error; } &&
    { [ -f out/index.html ] || npm run build; })
  zip_gib=4
  [ -z "$quick" ] || zip_gib=0.25
  table=$(mktemp)
  (cd web && BENCH_ZIP_GIB="${BENCH_ZIP_GIB:-$zip_gib}" BENCH_ZIP_OUT="$table" \
    LIVEDROP_BIN="$PWD/../target/release/livedrop" npx playwright test --config playwright.bench.config.ts)
  {
    printf '\n## Part 5: a folder as one ZIP in Chromium, against one file (`web/bench/zip.bench.ts`)\n\n'
    cat "$table"
  } >>"$out"
  rm -f "$table"
  echo "wrote $out"
fi

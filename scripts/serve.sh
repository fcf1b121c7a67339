#!/usr/bin/env bash
# Builds everything and starts the self-hosted server (the embedded default)
# on 127.0.0.1:8080 with its data in ./data. Needs: cargo, node + npm.
set -euo pipefail
cd "$(dirname "$0")/.."
export NEXT_TELEMETRY_DISABLED=1

echo "==> building the web app (web/out)"
(cd web && npm install --no-audit --no-fund && npm run build)

echo "==> building livedrop (release)"
cargo build --release --bin livedrop

echo "==> http://127.0.0.1:8080  (Ctrl-C stops; data in ./data)"
exec ./target/release/livedrop serve --listen "${LIVEDROP_LISTEN:-127.0.0.1:8080}" \
  --data-dir "${LIVEDROP_DATA_DIR:-./data}" --web-dir web/out

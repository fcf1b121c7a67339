#!/usr/bin/env bash
# The whole test suite, installing what it needs: lints, Rust tests (self-
# hosted, and cloud mode against the emulators), web unit tests, the web
# build and its size budget, and the browser tests in Debian's Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
export NEXT_TELEMETRY_DISABLED=1 CARGO_TERM_COLOR=never

step() { printf '\n==> [%dm%02ds] %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*"; }

# Each npm install below must leave the committed lockfiles byte for byte as
# they are, on any platform: they list every platform's optional packages.
LOCKFILES=(web/package-lock.json cloud/package-lock.json scripts/vercel/package-lock.json)
LOCKSUMS=$(sha256sum "${LOCKFILES[@]}")
lockfiles_unchanged() {
  [ "$(sha256sum "${LOCKFILES[@]}")" = "$LOCKSUMS" ] && return
  printf '\nFAIL: npm install rewrote a committed lockfile. Commit the one npm 11 writes\n' >&2
  printf 'in a clone without node_modules, which the next fresh install leaves as it is:\n' >&2
  git --no-pager diff --stat -- "${LOCKFILES[@]}" >&2 || true
  exit 1
}

step "system packages (Chromium for the browser tests)"
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

step "Rust lints"
cargo fmt --check
cargo clippy --all-targets -- -D warnings

step "web dependencies and lints"
(cd web && npm install --no-audit --no-fund --loglevel=error)
lockfiles_unchanged
(cd web && npm run lint && npm run typecheck && npm run format:check)

if [ -x scripts/emulators.sh ]; then
  step "cloud emulators (Firestore, Auth, fake-gcs-server)"
  scripts/emulators.sh install
  lockfiles_unchanged
  scripts/emulators.sh start
  trap 'scripts/emulators.sh stop' EXIT
  # shellcheck disable=SC1091
  . .emulators/env
fi

step "SMTP server for the mail tests (aiosmtpd, pinned, in .venv-mail)"
if ! .venv-mail/bin/python -c "import aiosmtpd" 2>/dev/null; then
  python3 -m venv .venv-mail
  .venv-mail/bin/pip install --quiet --disable-pip-version-check "aiosmtpd==1.4.6"
fi

step "Rust tests"
cargo test --lib --bins --tests  # benches run only from benches/run.sh

step "API contract fuzzing (schemathesis against livedrop serve: no 5xx, answers as the spec says, valid requests accepted)"
bash scripts/schemathesis.sh

step "web unit tests"
(cd web && npm test)

step "web build, vercel.json's CSP hashes, and the size budget"
# CI=1: scripts/csp.mjs checks that vercel.json lists this build's inline
# script hashes, rather than writing them.
(cd web && CI=1 npm run build && npm run size)

step "browser tests (Playwright + Chromium against livedrop serve)"
cargo build --bin livedrop
(cd web && LIVEDROP_BIN="$PWD/../target/debug/livedrop" npm run e2e)

step "browser tests in cloud mode (emulators, fake-gcs-server, livedrop serve --backend firebase)"
(cd web && LIVEDROP_BIN="$PWD/../target/debug/livedrop" npm run e2e:cloud)

step "vercel build: the Vercel output (static web app + the three Rust functions), offline"
# The CLI needs a project file to stay offline, and VERCEL_BUILD_IMAGE makes its
# Rust builder run plain `cargo build --release` instead of cargo-zigbuild.
# What this step proves is the output's shape (routes, functions, static
# pages), not the optimiser's, so its release profile is made as cheap as a
# debug build: that took it from about 10 minutes to 3 (2026-12-02). A deploy
# runs the real release profile; the benchmarks build it too.
npm --prefix scripts/vercel install --no-audit --no-fund --loglevel=error
lockfiles_unchanged
mkdir -p .vercel && { [ -f .vercel/project.json ] || echo '{"settings":{}}' > .vercel/project.json; }
CARGO_PROFILE_RELEASE_OPT_LEVEL=0 CARGO_PROFILE_RELEASE_CODEGEN_UNITS=256 CARGO_PROFILE_RELEASE_DEBUG=0 \
  CARGO_PROFILE_RELEASE_INCREMENTAL=false \
  VERCEL_BUILD_IMAGE=1 VERCEL_TELEMETRY_DISABLED=1 scripts/vercel/node_modules/.bin/vercel build --yes
for f in files account public; do test -d ".vercel/output/functions/api/$f.func"; done
test -f .vercel/output/static/s/index.html
# Left in the tree, the output's function links and the build cache that
# vercel's own `next build` leaves in web/.next make the next local web build
# panic in Turbopack's file tracing.
rm -rf .vercel/output web/.next

step "vercel dev --local: a short flow through Vercel's own routing against the emulators (sign-in, upload, share, link, cron)"
scripts/vercel-dev-flow.sh
lockfiles_unchanged

step "all green"

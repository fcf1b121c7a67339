#!/usr/bin/env bash
# A short flow through `vercel dev --local` against the emulators, so that
# Vercel's own routing (vercel.json's rewrites and headers, the three Rust
# functions, the static web app) is what it exercises:
#
#   /api/health, /api/config; two people signed up through the Auth
#   emulator, /api/me; upload (begin, PUT to the signed URL, complete);
#   share, and the recipient lists it (scope=shared) and downloads it, and
#   the share's letter reaches a real SMTP server (aiosmtpd); a
#   public link opened anonymously, and its download; the upload URL replayed
#   with other bytes (never served); the cron route (no secret, a wrong one:
#   401; the right one: 200 and its counts); `/` and `/s/<token>` as HTML.
#
# Usage: scripts/vercel-dev-flow.sh   (scripts/test.sh runs it)
#
# What it sets up, and undoes on exit:
#   - the emulators: the running ones (scripts/emulators.sh), or started here
#     and stopped again when none runs;
#   - `.env` (git-ignored; vercel dev reads the functions' variables from it):
#     the emulators' variables, a bucket of its own (livedrop-vercel-dev) and
#     a random CRON_SECRET; a `.env` already there is moved aside and put back;
#   - `.vercel/project.json`, which `vercel build` needs, is moved aside:
#     vercel dev stays offline only while the project is not linked;
#   - vercel dev in a process group of its own, stopped with every process
#     under it; web/.next, which its `next build` leaves, removed (as after
#     `vercel build` in scripts/test.sh).
#
# Not alongside the cloud tests: the emulators' Firestore project is the Auth
# emulator's (demo-livedrop) for all of them, and their sweeps, with every
# pending upload stale, would take this flow's upload away before it completes.
#
# The first request to each function builds it (`cargo build --bin NAME`,
# debug, in target/): after `cargo test` that is only a link, or nothing.
# LIVEDROP_VERCEL_DEV_TIMEOUT (seconds, default 1500) bounds the wait for
# /api/health; the log of vercel dev is printed when anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."

VERCEL=scripts/vercel/node_modules/.bin/vercel
BUCKET=livedrop-vercel-dev
PROJECT=demo-livedrop # the Auth emulator's: its tokens name it
TIMEOUT=${LIVEDROP_VERCEL_DEV_TIMEOUT:-1500}

say() { printf 'vercel-dev-flow: %s\n' "$*" >&2; }
die() { say "FAIL: $*"; exit 1; }

[ -x "$VERCEL" ] || npm --prefix scripts/vercel install --no-audit --no-fund --loglevel=error

TMP=$(mktemp -d)
LOG=$TMP/vercel-dev.log
DEV_PID="" STARTED_EMULATORS="" UNLINKED="" HAD_VERCEL_DIR="" OK="" SINK_PID=""

# Every process under $1, depth first.
descendants() {
  local p
  for p in $(ps -o pid= --ppid "$1" 2>/dev/null || true); do
    echo "$p"
    descendants "$p"
  done
}

stop_vercel_dev() {
  [ -n "$DEV_PID" ] || return 0
  local pids left p
  # vercel dev's own group, and anything under it that left the group.
  pids="$DEV_PID $(descendants "$DEV_PID")"
  kill -TERM -- "-$DEV_PID" 2>/dev/null || true
  # shellcheck disable=SC2086
  kill -TERM $pids 2>/dev/null || true
  for _ in $(seq 1 100); do
    left=""
    for p in $pids; do kill -0 "$p" 2>/dev/null && left="$left $p"; done
    kill -0 -- "-$DEV_PID" 2>/dev/null && left="$left group:$DEV_PID"
    [ -z "$left" ] && break
    sleep 0.1
  done
  if [ -n "$left" ]; then
    say "killing what is left of vercel dev:$left"
    kill -KILL -- "-$DEV_PID" 2>/dev/null || true
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    sleep 0.5
    for p in $pids; do
      if kill -0 "$p" 2>/dev/null; then say "FAIL: left behind: $(ps -o pid=,args= -p "$p" | cut -c1-120)"; OK=""; fi
    done
  fi
  DEV_PID=""
}

cleanup() {
  local rc=$?
  stop_vercel_dev
  if [ -z "$OK" ] && [ -f "$LOG" ]; then
    say "vercel dev's log (last 60 lines):"
    tail -n 60 "$LOG" >&2 || true
  fi
  if [ -n "$UNLINKED" ]; then
    rm -f .env
    if [ -f "$TMP/dotenv" ]; then mv "$TMP/dotenv" .env; fi
    if [ -f "$TMP/project.json" ]; then mkdir -p .vercel && mv "$TMP/project.json" .vercel/project.json; fi
    # What vercel dev wrote there (cache, dev, static-build) goes too.
    if [ -z "$HAD_VERCEL_DIR" ]; then rm -rf .vercel; else
      for e in $(ls -A .vercel); do grep -qxF "$e" "$TMP/vercel-dir" || rm -rf ".vercel/$e"; done
    fi
    rm -rf web/.next
  fi
  [ -z "$STARTED_EMULATORS" ] || scripts/emulators.sh stop
  [ -z "$SINK_PID" ] || kill "$SINK_PID" 2>/dev/null || true
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The emulators: the running ones, or ours.
case "$(scripts/emulators.sh status | grep -c running || true)" in
  3) [ -f .emulators/env ] || die "the emulators run but .emulators/env is missing" ;;
  0) scripts/emulators.sh start && STARTED_EMULATORS=1 ;;
  *) die "some emulators are stopped (scripts/emulators.sh status); stop or start them all" ;;
esac
# shellcheck disable=SC1091
. .emulators/env
curl -sS -o /dev/null -X POST -H 'Content-Type: application/json' --data "{\"name\":\"$BUCKET\"}" \
  "$STORAGE_EMULATOR_HOST/storage/v1/b?project=$PROJECT" || die "fake-gcs-server does not answer"

# Unlinked, so that vercel dev stays offline.
UNLINKED=1
if [ -d .vercel ]; then HAD_VERCEL_DIR=1 && ls -A .vercel >"$TMP/vercel-dir"; fi
if [ -f .vercel/project.json ]; then mv .vercel/project.json "$TMP/project.json"; fi
if [ -f .env ]; then mv .env "$TMP/dotenv"; fi
CRON_SECRET=$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT

# A real SMTP server (aiosmtpd, which scripts/test.sh installs in
# .venv-mail), writing each letter to $MAIL_DIR: the functions' mail is
# delivered within the invocation that posts it (waitUntil).
[ -x .venv-mail/bin/python ] || die ".venv-mail is missing: scripts/test.sh installs aiosmtpd there"
MAIL_DIR=$TMP/mail SMTP_PORT=$(free_port)
.venv-mail/bin/python tests/support/smtp_sink.py "$SMTP_PORT" --dir "$MAIL_DIR" >/dev/null &
SINK_PID=$!
for _ in $(seq 100); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $SMTP_PORT), 1)" 2>/dev/null && break
  sleep 0.1
done

cat >.env <<EOF
FIRESTORE_EMULATOR_HOST=$FIRESTORE_EMULATOR_HOST
FIREBASE_AUTH_EMULATOR_HOST=$FIREBASE_AUTH_EMULATOR_HOST
STORAGE_EMULATOR_HOST=$STORAGE_EMULATOR_HOST
LIVEDROP_FIREBASE_PROJECT=$PROJECT
LIVEDROP_GCS_BUCKET=$BUCKET
CRON_SECRET=$CRON_SECRET
LIVEDROP_SMTP_HOST=127.0.0.1
LIVEDROP_SMTP_PORT=$SMTP_PORT
LIVEDROP_SMTP_TLS=none
LIVEDROP_MAIL_FROM="livedrop <noreply@livedrop.test>"
LIVEDROP_PUBLIC_URL=$BASE
EOF
say "vercel dev --local on $BASE (log: $LOG)"
# A new session: vercel dev leads its own process group ($! is its id).
VERCEL_TELEMETRY_DISABLED=1 NEXT_TELEMETRY_DISABLED=1 NO_UPDATE_NOTIFIER=1 \
  setsid "$VERCEL" dev --local --listen "127.0.0.1:$PORT" --yes >"$LOG" 2>&1 </dev/null &
DEV_PID=$!

start=$SECONDS last=0
until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 120 "$BASE/api/health" || true)" = 200 ]; do
  kill -0 "$DEV_PID" 2>/dev/null || die "vercel dev exited before /api/health answered"
  ((SECONDS - start < TIMEOUT)) || die "/api/health did not answer within ${TIMEOUT}s"
  if ((SECONDS - last >= 30)); then
    last=$SECONDS
    say "waiting for /api/health ($((SECONDS - start))s): $(tail -n 1 "$LOG" | cut -c1-150)"
  fi
  sleep 1
done
say "/api/health answers after $((SECONDS - start))s"

BASE=$BASE CRON_SECRET=$CRON_SECRET MAIL_DIR=$MAIL_DIR python3 - <<'PY'
import base64, json, os, sys, time, urllib.error, urllib.request

BASE, SECRET, MAIL_DIR = os.environ["BASE"], os.environ["CRON_SECRET"], os.environ["MAIL_DIR"]
AUTH = os.environ["FIREBASE_AUTH_EMULATOR_HOST"]
FIRESTORE = os.environ["FIRESTORE_EMULATOR_HOST"]

def fail(what, status=None, body=b""):
    print(f"vercel-dev-flow: FAIL: {what}" + (f" (HTTP {status}: {body[:400]!r})" if status else ""), file=sys.stderr)
    sys.exit(1)

def call(method, url, token=None, json_body=None, data=None, headers=()):
    """(status, headers, body) of one request; never raises on an HTTP status."""
    url = url if url.startswith("http") else BASE + url
    h = dict(headers)
    if token:
        h["Authorization"] = f"Bearer {token}"
    if json_body is not None:
        data, h["Content-Type"] = json.dumps(json_body).encode(), "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()

def expect(status, what, method, url, **kw):
    got, headers, body = call(method, url, **kw)
    if got != status:
        fail(f"{what}: {method} {url} answered {got}, not {status}", got, body)
    return json.loads(body) if headers.get("Content-Type", "").startswith("application/json") else body

def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return base64.b64encode((crc ^ 0xFFFFFFFF).to_bytes(4, "big")).decode()

T0 = time.monotonic()
def step(s):
    print(f"vercel-dev-flow: [{time.monotonic() - T0:5.1f}s] {s}", file=sys.stderr)

step("config")
cfg = expect(200, "runtime config", "GET", "/api/config")
if cfg.get("mode") != "cloud" or cfg["firebase"]["emulators"]["firestore"] != FIRESTORE:
    fail(f"/api/config is not cloud mode on the emulators: {cfg}")

step("sign-up of two people (Auth emulator), /api/me")
def person(name):
    email = f"{name}-{time.time_ns()}@example.com"
    made = expect(200, f"sign-up of {email}", "POST",
                  f"http://{AUTH}/identitytoolkit.googleapis.com/v1/accounts:signUp?key=demo-api-key",
                  json_body={"email": email, "password": "a long enough password", "returnSecureToken": True})
    me = expect(200, "who am I", "GET", "/api/me", token=made["idToken"])
    if json.dumps(me).find(email) < 0:
        fail(f"/api/me does not name {email}: {me}")
    return email, made["idToken"]
ann_email, ann = person("ann")
bob_email, bob = person("bob")

step("upload: begin, PUT to the signed URL, complete")
data = b"livedrop through vercel dev\n" * 40
begun = expect(201, "begin upload", "POST", "/api/uploads", token=ann, json_body={
    "name": "vercel-dev.txt", "size": len(data), "content_type": "text/plain", "crc32c": crc32c(data)})
file_id, target = begun["file"]["id"], begun["upload"]
if target["method"] != "PUT" or target["resumable"]:
    fail(f"a small file gets one PUT: {target}")
expect(200, "PUT of the bytes", "PUT", target["url"], data=data, headers=target["headers"])
done = expect(200, "complete", "POST", f"/api/uploads/{file_id}/complete", token=ann, json_body={})
if done["file"]["status"] != "ready":
    fail(f"not ready after complete: {done}")

def download(url, token=None):
    signed = expect(200, "signed download URL", "POST", url, token=token, json_body={})
    status, _, body = call("GET", signed["url"])
    return status, body

step("share; the recipient lists it and downloads it")
expect(201, "share", "POST", f"/api/files/{file_id}/shares", token=ann, json_body={"email": bob_email})
shared = expect(200, "files shared with bob", "GET", "/api/files?scope=shared", token=bob)
if file_id not in [f["id"] for f in shared["files"]]:
    fail(f"bob does not see the shared file {file_id}: {shared}")
if download(f"/api/files/{file_id}/download", bob) != (200, data):
    fail("bob's download is not the uploaded bytes")

step("the share's letter reaches the SMTP server (sent within the function's invocation)")
deadline = time.monotonic() + 30
letter = None
while letter is None and time.monotonic() < deadline:
    for name in sorted(os.listdir(MAIL_DIR)) if os.path.isdir(MAIL_DIR) else []:
        if name.endswith(".json"):
            m = json.load(open(os.path.join(MAIL_DIR, name)))
            if bob_email in m["to"]:
                letter = m
    time.sleep(0.2)
if letter is None:
    fail(f"no letter to {bob_email} within 30 s")
if "vercel-dev.txt" not in letter["subject"] or f"{BASE}/file/?id={file_id}" not in letter["body"]:
    fail(f"the letter does not name the file or link to it: {letter['subject']!r} {letter['body']!r}")
step(f"  {letter['subject']}")

step("public link, opened anonymously, and its download")
link = expect(201, "create link", "POST", f"/api/files/{file_id}/links", token=ann, json_body={})
token = link["token"]
if link["url"] != f"/s/{token}":
    fail(f"the link's url is not /s/<token>: {link}")
info = expect(200, "link info", "GET", f"/api/s/{token}")
if "vercel-dev.txt" not in json.dumps(info):
    fail(f"the link does not name the file: {info}")
if download(f"/api/s/{token}/download") != (200, data):
    fail("the link's download is not the uploaded bytes")

step("the upload URL replayed with other bytes is never served")
other = bytes(b ^ 0x5A for b in data)
status, _, body = call("PUT", target["url"], data=other, headers=target["headers"])
step(f"  the replay answered {status} (fake-gcs-server ignores the preconditions GCS enforces)")
status, body = download(f"/api/files/{file_id}/download", ann)
if body == other:
    fail("after the replay the download serves the replayed bytes")
if status != 404 and (status, body) != (200, data):
    fail(f"after the replay the download answers {status}, not the uploaded bytes or 404", status, body)

step("the cron route: no secret, a wrong one, the right one")
for token_ in (None, SECRET + "x"):
    r = expect(401, "cron sweep without the secret", "GET", "/api/cron/sweep", token=token_)
    if r.get("error", {}).get("code") != "unauthenticated":
        fail(f"the cron route's 401 is not unauthenticated: {r}")
counts = expect(200, "cron sweep", "GET", "/api/cron/sweep", token=SECRET)
if sorted(counts) != ["orphan_objects", "pending_files", "sessions"] or not all(isinstance(v, int) for v in counts.values()):
    fail(f"the sweep's counts: {counts}")
step(f"  swept {counts}")

step("static pages: / and /s/<token>, with vercel.json's headers")
for path in ("/", f"/s/{token}"):
    status, headers, body = call("GET", path)
    if status != 200 or not headers.get("Content-Type", "").startswith("text/html") or b"<html" not in body[:2000].lower():
        fail(f"{path} is not the web app's HTML", status, body)
    if headers.get("X-Content-Type-Options") != "nosniff" or headers.get("X-Frame-Options") != "DENY":
        fail(f"{path} lacks vercel.json's headers: {dict(headers)}")
step("flow OK")
PY
OK=1
stop_vercel_dev
[ -n "$OK" ] || exit 1
say "all through vercel dev in $((SECONDS))s"

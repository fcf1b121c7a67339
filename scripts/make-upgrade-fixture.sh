#!/usr/bin/env bash
# Makes an upgrade fixture: a data dir that one release of livedrop wrote
# through its HTTP API, as people would, for tests/upgrade.rs to open with
# today's server.
#
#   scripts/make-upgrade-fixture.sh <livedrop binary> <output folder>
#
# e.g. for the release at commit fa2681a:
#
#   git worktree add /tmp/livedrop-prev fa2681a
#   (cd /tmp/livedrop-prev && CARGO_TARGET_DIR=/tmp/livedrop-prev-target cargo build --bin livedrop)
#   scripts/make-upgrade-fixture.sh /tmp/livedrop-prev-target/debug/livedrop tests/data/upgrade/fa2681a
#   git worktree remove --force /tmp/livedrop-prev
#
# It starts `livedrop serve` on a fresh data dir, makes two accounts and
# their files, shares, an invitation, a public link, downloads, a rename, a
# delete and unfinished uploads (see the README.md it writes), records what
# the server answered for them (manifest.json), stops the server with
# SIGTERM and copies the data dir into <output folder>/data.
#
# The file contents are deterministic (text, or the byte pattern of
# tests/common's `bytes(len, seed)`); ids, tokens and times are not, so
# every run makes a different (equally valid) fixture.
#
# Needs: bash, curl, python3 (standard library only).
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 <livedrop binary> <output folder>" >&2
  exit 2
fi
bin=$(realpath "$1")
out=$2
if [ -e "$out" ] && [ -n "$(ls -A "$out")" ]; then
  echo "$out exists and is not empty: remove it first" >&2
  exit 2
fi

PASSWORD="upgrade fixture password"
LINK_PASSWORD="link password 42"
LINK_MAX_DOWNLOADS=3
ANN=ann@example.com
BOB=bob@example.com
CAROL=carol@example.com

work=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/data" "$work/files" "$work/resp"

# ----- helpers (python3: JSON, CRC32C, the byte pattern) -----

cat >"$work/lib.py" <<'PY'
import base64, hashlib, json, os, sys

def _table():
    t = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t

TABLE = _table()

def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF

def crc32c_b64(data):
    # As Google Cloud Storage writes it: base64 of the 4 big-endian bytes.
    return base64.b64encode(crc32c(data).to_bytes(4, "big")).decode()

def pattern(length, seed):
    # tests/common/mod.rs `bytes(len, seed)`:
    # (i as u32).wrapping_mul(2_654_435_761).rotate_left(seed) as u8 ^ seed
    r = seed % 32
    out = bytearray(length)
    for i in range(length):
        x = (i * 2654435761) & 0xFFFFFFFF
        if r:
            x = ((x << r) | (x >> (32 - r))) & 0xFFFFFFFF
        out[i] = (x & 0xFF) ^ seed
    return bytes(out)

def content(spec):
    if "text" in spec:
        return spec["text"].encode()
    return pattern(spec["len"], spec["seed"])

def get(doc, path):
    for p in path:
        doc = doc[int(p)] if isinstance(doc, list) else doc[p]
    return doc

cmd, args = sys.argv[1], sys.argv[2:]
if cmd == "content":
    # content SPEC OUT: writes the bytes, prints {size, crc32c, sha256}
    data = content(json.loads(args[0]))
    with open(args[1], "wb") as f:
        f.write(data)
    print(json.dumps({"size": len(data), "crc32c": crc32c_b64(data), "sha256": hashlib.sha256(data).hexdigest()}))
elif cmd == "crc32c":
    print(crc32c_b64(open(args[0], "rb").read()))
elif cmd == "get":
    # get FILE KEY...: a string as it is, anything else as JSON
    v = get(json.load(open(args[0])), args[1:])
    print(v if isinstance(v, str) else json.dumps(v))
elif cmd == "headers":
    # headers FILE KEY...: curl -H arguments, one a line
    for k, v in get(json.load(open(args[0])), args[1:]):
        print(f"{k}: {v}")
elif cmd == "obj":
    # obj K V K V ...: a JSON object; V is JSON if it parses, else a string
    o = {}
    for k, v in zip(args[::2], args[1::2]):
        try:
            o[k] = json.loads(v)
        except ValueError:
            o[k] = v
    print(json.dumps(o))
elif cmd == "addr":
    # addr LOG: where `livedrop serve --log-json` says it listens
    for line in open(args[0], errors="replace"):
        try:
            a = json.loads(line).get("fields", {}).get("addr")
        except ValueError:
            continue
        if a:
            print(a)
            break
elif cmd == "manifest":
    exec(open(os.path.join(os.path.dirname(__file__), "manifest.py")).read())
else:
    sys.exit(f"unknown command {cmd}")
PY
py() { python3 "$work/lib.py" "$@"; }

# call WHO STATUS METHOD PATH [JSON BODY]: the answer's body on stdout; fails
# unless the status is STATUS. WHO is anon, ann (her API token), bob (his
# browser session: cookie and X-CSRF-Token) or bobtoken (his API token).
call() {
  local who=$1 expect=$2 method=$3 path=$4 body=${5-} code
  local args=(-sS -o "$work/last" -w '%{http_code}' -X "$method")
  rm -f "$work/last"
  case $who in
    anon) ;;
    ann) args+=(-H "authorization: Bearer $ANN_TOKEN") ;;
    bob) args+=(-b "$work/bob.cookies" -H "x-csrf-token: $BOB_CSRF") ;;
    bobtoken) args+=(-H "authorization: Bearer $BOB_TOKEN") ;;
    *) echo "who is $who?" >&2; return 1 ;;
  esac
  if [ -n "$body" ]; then
    args+=(-H 'content-type: application/json' --data-binary "$body")
  fi
  code=$(curl "${args[@]}" "$base$path")
  if [ "$code" != "$expect" ]; then
    echo "FAIL: $who $method $path answered $code, not $expect: $(cat "$work/last" 2>/dev/null)" >&2
    return 1
  fi
  cat "$work/last" 2>/dev/null || true
}

# fetch URL FILE: GETs a signed URL, the bytes into FILE.
fetch() {
  local code
  code=$(curl -sS -o "$2" -w '%{http_code}' "$base$1")
  [ "$code" = 200 ] || { echo "FAIL: GET $1 answered $code" >&2; return 1; }
}

# begin WHO KEY NAME CONTENT_TYPE SPEC: writes the content to files/KEY,
# begins its upload, saves the answer as resp/KEY.begin.json.
begin() {
  local who=$1 key=$2 name=$3 ctype=$4 spec=$5 facts body
  facts=$(py content "$spec" "$work/files/$key")
  echo "$facts" >"$work/resp/$key.content.json"
  echo "$spec" >"$work/resp/$key.spec.json"
  body=$(py obj name "$name" size "$(py get "$work/resp/$key.content.json" size)" content_type "$ctype" \
    crc32c "$(py get "$work/resp/$key.content.json" crc32c)")
  call "$who" 201 POST /api/uploads "$body" >"$work/resp/$key.begin.json"
}

# put KEY: sends the bytes of files/KEY in one signed PUT.
put() {
  local key=$1 url code
  url=$(py get "$work/resp/$key.begin.json" upload url)
  [ "$(py get "$work/resp/$key.begin.json" upload method)" = PUT ] || { echo "$key is not a single PUT" >&2; return 1; }
  code=$(curl -sS -o "$work/last" -w '%{http_code}' -X PUT --data-binary @"$work/files/$key" "$base$url")
  [ "$code" = 200 ] || { echo "FAIL: PUT of $key answered $code: $(cat "$work/last")" >&2; return 1; }
}

id_of() { py get "$work/resp/$1.begin.json" file id; }

# upload WHO KEY NAME CONTENT_TYPE SPEC: begin, PUT, complete.
upload() {
  begin "$@"
  put "$2"
  call "$1" 200 POST "/api/uploads/$(id_of "$2")/complete" '{}' >"$work/resp/$2.complete.json"
}

# ----- the server -----

echo "==> starting $bin serve on a fresh data dir"
LIVEDROP_LOG=info "$bin" serve --listen 127.0.0.1:0 --data-dir "$work/data" --web-dir "$work/no-web" --log-json \
  >"$work/serve.out" 2>"$work/serve.log" &
pid=$!
addr=""
for _ in $(seq 600); do
  addr=$(py addr "$work/serve.log")
  [ -n "$addr" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/serve.log" >&2; echo "livedrop serve stopped" >&2; exit 1; }
  sleep 0.1
done
[ -n "$addr" ] || { cat "$work/serve.log" >&2; echo "livedrop serve did not say where it listens" >&2; exit 1; }
base="http://$addr"
for _ in $(seq 100); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/api/health")" = 200 ] && break
  sleep 0.1
done
echo "    listening on $base"

# ----- accounts -----

echo "==> accounts: $ANN (an API token, as a script), $BOB (a browser session)"
curl -sS -f -c "$work/ann.cookies" -o "$work/resp/ann.signup.json" -H 'content-type: application/json' \
  --data-binary "$(py obj email "$ANN" password "$PASSWORD")" "$base/api/auth/signup"
ann_csrf=$(py get "$work/resp/ann.signup.json" csrf_token)
curl -sS -f -b "$work/ann.cookies" -H "x-csrf-token: $ann_csrf" -H 'content-type: application/json' \
  -o "$work/resp/ann.token.json" --data-binary '{"name":"upgrade fixture script"}' "$base/api/tokens"
ANN_TOKEN=$(py get "$work/resp/ann.token.json" secret)

curl -sS -f -c "$work/bob.cookies" -o "$work/resp/bob.signup.json" -H 'content-type: application/json' \
  --data-binary "$(py obj email "$BOB" password "$PASSWORD")" "$base/api/auth/signup"
BOB_CSRF=$(py get "$work/resp/bob.signup.json" csrf_token)
call bob 201 POST /api/tokens '{"name":"bob laptop"}' >"$work/resp/bob.token.json"
BOB_TOKEN=$(py get "$work/resp/bob.token.json" secret)

# ----- files -----

echo "==> ann's files"
upload ann notes "notes.txt" "text/plain" \
  '{"text": "Meeting notes, 2 December\n- ship the upgrade test\n- nothing may be lost\n"}'
upload ann report "report-draft.txt" "text/plain" \
  '{"text": "Quarterly report\n\nRevenue went up; costs went down. Details follow.\n"}'
upload ann photo "photo.jpg" "image/jpeg" '{"len": 4000, "seed": 7}'
upload ann slides "slides.pdf" "application/pdf" '{"len": 20000, "seed": 11}'
upload ann empty "empty.txt" "text/plain" '{"text": ""}'
upload ann olddraft "old-draft.txt" "text/plain" '{"text": "an old draft, deleted\n"}'

echo "==> bob's file"
upload bob todo "todo.txt" "text/plain" '{"text": "- read ann'"'"'s notes\n"}'

echo "==> a rename, shares, an invitation, a public link"
call ann 200 PATCH "/api/files/$(id_of report)" "$(py obj name "Q1 report (final) – März.txt")" \
  >"$work/resp/report.rename.json"
call ann 201 POST "/api/files/$(id_of notes)/shares" "$(py obj email "$BOB")" >"$work/resp/notes.share.json"
call ann 201 POST "/api/files/$(id_of photo)/shares" "$(py obj email "$CAROL")" >"$work/resp/photo.share.json"
[ "$(py get "$work/resp/photo.share.json" share pending)" = true ] || { echo "carol's share is not pending" >&2; exit 1; }
call ann 201 POST "/api/files/$(id_of slides)/links" \
  "$(py obj password "$LINK_PASSWORD" max_downloads "$LINK_MAX_DOWNLOADS")" >"$work/resp/link.json"
LINK_TOKEN=$(py get "$work/resp/link.json" token)

echo "==> downloads: ann her report, bob the shared notes (viewed inline, then saved), one through the link"
call ann 200 POST "/api/files/$(id_of report)/download" '{}' >"$work/resp/report.download.json"
fetch "$(py get "$work/resp/report.download.json" url)" "$work/got.report"
cmp "$work/got.report" "$work/files/report"
call bob 200 POST "/api/files/$(id_of notes)/download" '{"inline":true}' >"$work/resp/notes.view.json"
fetch "$(py get "$work/resp/notes.view.json" url)" "$work/got.notes"
cmp "$work/got.notes" "$work/files/notes"
call bob 200 POST "/api/files/$(id_of notes)/download" '{}' >"$work/resp/notes.download.json"
call anon 200 POST "/api/s/$LINK_TOKEN/download" "$(py obj password "$LINK_PASSWORD")" >"$work/resp/link.download.json"
fetch "$(py get "$work/resp/link.download.json" url)" "$work/got.slides"
cmp "$work/got.slides" "$work/files/slides"

echo "==> a delete"
call ann 204 DELETE "/api/files/$(id_of olddraft)" >/dev/null

echo "==> unfinished uploads: one begun only, one with its bytes but never completed, one resumable half-sent"
begin ann unfinished "unfinished.zip" "application/zip" '{"len": 5000, "seed": 3}'
begin ann almost "almost.txt" "text/plain" '{"text": "bytes stored, upload never completed\n"}'
put almost
# Larger than the 8 MiB single-PUT limit: a resumable session, 64 KiB sent.
begin ann video "video.mp4" "video/mp4" '{"len": 8392704, "seed": 5}'
SESSION_SENT=65536
[ "$(py get "$work/resp/video.begin.json" upload resumable)" = true ] || { echo "video is not resumable" >&2; exit 1; }
hdrs=()
while IFS= read -r h; do hdrs+=(-H "$h"); done < <(py headers "$work/resp/video.begin.json" upload headers)
curl -sS -f -D "$work/video.start.headers" -o /dev/null -X POST "${hdrs[@]}" \
  "$base$(py get "$work/resp/video.begin.json" upload url)"
SESSION=$(sed -n 's/^[Ll]ocation: *//p' "$work/video.start.headers" | tr -d '\r')
VIDEO_SIZE=$(py get "$work/resp/video.content.json" size)
head -c "$SESSION_SENT" "$work/files/video" >"$work/video.chunk"
code=$(curl -sS -o /dev/null -D "$work/video.chunk.headers" -w '%{http_code}' -X PUT \
  -H "content-range: bytes 0-$((SESSION_SENT - 1))/$VIDEO_SIZE" --data-binary @"$work/video.chunk" "$base$SESSION")
[ "$code" = 308 ] || { echo "FAIL: the first chunk answered $code" >&2; exit 1; }
grep -qi "^range: bytes=0-$((SESSION_SENT - 1))" "$work/video.chunk.headers"

# ----- what this release answers about it all -----

echo "==> recording what the server answers"
ann_ids=(notes report photo slides empty unfinished almost video)
snap() { # snap NAME WHO PATH
  call "$2" 200 GET "$3" >"$work/resp/snap.$1.json"
  printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$work/snapshots.tsv"
}
# Read-only requests, none of which logs activity; the test repeats them.
snap ann-me ann /api/me
snap ann-files ann "/api/files?scope=mine&sort=name&order=asc"
snap ann-shared ann "/api/files?scope=shared"
for k in "${ann_ids[@]}"; do snap "ann-file-$k" ann "/api/files/$(id_of "$k")"; done
snap ann-slides-links ann "/api/files/$(id_of slides)/links"
for k in notes report photo slides; do snap "ann-activity-$k" ann "/api/files/$(id_of "$k")/activity"; done
snap ann-activity ann "/api/activity?limit=1000"
snap bob-me bobtoken /api/me
snap bob-files bobtoken "/api/files?scope=mine"
snap bob-shared bobtoken "/api/files?scope=shared"
snap bob-file-notes bobtoken "/api/files/$(id_of notes)"
snap bob-file-todo bobtoken "/api/files/$(id_of todo)"
snap bob-activity bobtoken "/api/activity?limit=1000"
snap link anon "/api/s/$LINK_TOKEN"

echo "==> stopping the server (SIGTERM)"
kill -TERM "$pid"
wait "$pid" || { cat "$work/serve.log" >&2; echo "livedrop serve did not stop cleanly" >&2; exit 1; }
pid=""

# ----- the fixture -----

mkdir -p "$out/data"
cp "$work/data/livedrop.db" "$work/data/secret" "$out/data/"
if [ -s "$work/data/livedrop.db-wal" ]; then
  echo "    note: the server left a write-ahead log; copying livedrop.db-wal and -shm too"
  cp "$work/data/livedrop.db-wal" "$out/data/"
  [ -e "$work/data/livedrop.db-shm" ] && cp "$work/data/livedrop.db-shm" "$out/data/"
fi
cp -R "$work/data/blobs" "$out/data/blobs"
# Empty folders do not survive git; DiskBlobs::open makes them again.
rmdir "$out/data/blobs/tmp" 2>/dev/null || true

cat >"$work/manifest.py" <<'PY'
work, out = args[0], args[1]
release, command = args[2], args[3]
resp = lambda n: json.load(open(os.path.join(work, "resp", n + ".json")))
env = json.loads(os.environ["FIXTURE_FACTS"])

def entry(key, owner, status, **more):
    begun = resp(key + ".begin")
    e = {
        "key": key,
        "id": begun["file"]["id"],
        "owner": owner,
        "name": begun["file"]["name"],
        "content_type": begun["file"]["content_type"],
        "content": resp(key + ".spec"),
        "status": status,
    }
    e.update(resp(key + ".content"))
    e.update(more)
    return e

files = [
    entry("notes", "ann", "ready", shared_with=[env["bob"]]),
    entry("report", "ann", "ready", name=resp("report.rename")["file"]["name"], uploaded_as="report-draft.txt"),
    entry("photo", "ann", "ready", invited=[env["carol"]]),
    entry("slides", "ann", "ready", link=True),
    entry("empty", "ann", "ready"),
    entry("todo", "bob", "ready"),
]
deleted = entry("olddraft", "ann", "deleted")
pending = [
    entry("unfinished", "ann", "pending", stored=None),
    entry("almost", "ann", "pending", stored="whole"),
    entry("video", "ann", "pending", stored="session",
          session={"location": env["session"], "sent": env["session_sent"]}),
]
link = resp("link")
snapshots = []
for line in open(os.path.join(work, "snapshots.tsv")):
    name, who, path = line.rstrip("\n").split("\t")
    snapshots.append({"name": name, "as": {"bobtoken": "bob"}.get(who, who), "path": path,
                      "body": resp("snap." + name)})
m = {
    "release": release,
    "made_with": command,
    "password": env["password"],
    "accounts": {
        "ann": {"email": env["ann"], "id": resp("ann.signup")["user"]["id"],
                "api_token": env["ann_token"], "api_token_id": resp("ann.token")["token"]["id"]},
        "bob": {"email": env["bob"], "id": resp("bob.signup")["user"]["id"],
                "api_token": env["bob_token"], "api_token_id": resp("bob.token")["token"]["id"]},
    },
    "invited": env["carol"],
    "files": files,
    "deleted": deleted,
    "pending": pending,
    "link": {
        "id": link["link"]["id"],
        "file": "slides",
        "token": env["link_token"],
        "password": env["link_password"],
        "max_downloads": env["link_max"],
        "downloads": 1,
    },
    "snapshots": snapshots,
}
with open(os.path.join(out, "manifest.json"), "w") as f:
    json.dump(m, f, indent=1, ensure_ascii=False)
    f.write("\n")
PY

# The release is what the output folder is named after (tests/data/upgrade/<commit>),
# unless FIXTURE_RELEASE says otherwise.
release=${FIXTURE_RELEASE:-$(basename "$out")}
version=$("$bin" --version 2>/dev/null || echo "livedrop")
command="scripts/make-upgrade-fixture.sh $1 $2"
FIXTURE_FACTS=$(py obj password "$PASSWORD" ann "$ANN" bob "$BOB" carol "$CAROL" ann_token "$ANN_TOKEN" \
  bob_token "$BOB_TOKEN" link_token "$LINK_TOKEN" link_password "$LINK_PASSWORD" link_max "$LINK_MAX_DOWNLOADS" \
  session "$SESSION" session_sent "$SESSION_SENT")
export FIXTURE_FACTS
py manifest "$work" "$out" "$release" "$command"

cat >"$out/README.md" <<EOF
# Upgrade fixture: data written by release $release

The data dir (\`data/\`: \`livedrop.db\`, \`secret\`, \`blobs/\`) of a
\`livedrop serve\` of release \`$release\` ($version), made through its HTTP API
on $(date -u +%Y-%m-%d) by

    $command

(the binary built at commit $release in a worktree of its own; see the
script's header). \`tests/upgrade.rs\` copies \`data/\` into a temporary
folder, starts today's server on it and checks that nothing was lost. Never
edit these files by hand: make a new fixture with the script instead.

\`manifest.json\` lists what the data holds (ids, names, sizes, CRC32C,
SHA-256 and how to make each file's bytes) and, under \`snapshots\`, what
release $release answered to read-only requests about it, which the test
asks again.

## What it holds

- Two accounts, password \`$PASSWORD\`:
  - \`$ANN\`, with an API token (\`upgrade fixture script\`; its secret is
    in manifest.json: tokens never expire);
  - \`$BOB\`, with a browser session and an API token (\`bob laptop\`).
- ann's files, all ready:
  - \`notes.txt\` (text/plain), shared with bob, who viewed it inline and
    downloaded it;
  - \`Q1 report (final) – März.txt\`, uploaded as \`report-draft.txt\` and
    renamed; ann downloaded it;
  - \`photo.jpg\` (4000 bytes), shared with \`$CAROL\`, who has no
    account: an invitation that waits for her sign-up;
  - \`slides.pdf\` (20000 bytes), with a public link: password
    \`$LINK_PASSWORD\`, at most $LINK_MAX_DOWNLOADS downloads, 1 done, no expiry; link token
    \`$LINK_TOKEN\`;
  - \`empty.txt\` (0 bytes).
- bob's file \`todo.txt\`.
- \`old-draft.txt\`: uploaded by ann and deleted (its record and bytes are
  gone; its activity stays).
- ann's unfinished uploads, all pending:
  - \`unfinished.zip\`: begun, no bytes sent;
  - \`almost.txt\`: its bytes stored by a signed PUT, never completed;
  - \`video.mp4\` (8392704 bytes, over the single-PUT limit): a resumable
    session, $SESSION_SENT bytes sent (\`blobs/sessions/\`), session URL
    \`$SESSION\`.
- The activity of all of it (uploads, rename, shares, link, downloads,
  view, delete).

Contents: text as in manifest.json, or \`{"len", "seed"}\`: the byte
pattern of \`bytes(len, seed)\` in \`tests/common/mod.rs\`.
EOF

echo "==> wrote $out"
ls -lR "$out" | sed 's/^/    /'

#!/usr/bin/env bash
# Fuzzes the API against its contract, src/http/openapi.json, with
# schemathesis (https://schemathesis.io): a fresh `livedrop serve`, an
# account with an API token, real files, shares and public links made
# through the API, then every check, as that token's holder. Fails on any
# server error, response the spec does not describe, schema-valid request
# the server refuses, invalid one it accepts, or 405 without `Allow`.
#
# Installs what it needs (schemathesis, pinned, in .venv-schemathesis) and
# builds the server. SCHEMATHESIS_SEED=<n> replays a run (the seed is
# printed); SCHEMATHESIS_ARGS adds options (e.g. "--max-examples 200").
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=4.32.5
VENV=.venv-schemathesis
if [ "$("$VENV/bin/schemathesis" --version 2>/dev/null)" != "schemathesis, version $VERSION" ]; then
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION"
fi

cargo build --bin livedrop

work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# With a cron secret the fuzzer runs the sweep too.
CRON_SECRET=$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')
export CRON_SECRET
LIVEDROP_LOG=info target/debug/livedrop serve --listen 127.0.0.1:0 --data-dir "$work/data" --backend sqlite \
  --signup open --web-dir "$work/no-web" --log-json 2>"$work/server.log" >/dev/null &
server=$!

# Real data, made through the API as a client makes it, and the fuzzer's
# configuration, which points it at that data. Prints the base URL.
base=$("$VENV/bin/python" - "$work" <<'PY'
import base64, json, struct, sys, time, urllib.request

work = sys.argv[1]
base = None
for _ in range(600):
    with open(f"{work}/server.log") as f:
        for line in f:
            try:
                addr = json.loads(line).get("fields", {}).get("addr")
            except ValueError:
                continue
            if addr:
                base = f"http://{addr}"
    if base:
        break
    time.sleep(0.1)
if not base:
    sys.exit("livedrop serve did not say where it listens:\n" + open(f"{work}/server.log").read())


def call(method, path, body=None, headers=None, raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers or {})
    if body is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req) as resp:
        text = resp.read()
        return resp.headers, (json.loads(text) if text else None)


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return base64.b64encode(struct.pack(">I", crc ^ 0xFFFFFFFF)).decode()


password = "fuzzing-password-1"
headers, session = call("POST", "/api/auth/signup", {"email": "owner@example.com", "password": password})
browser = {"Cookie": headers["Set-Cookie"].split(";")[0], "X-CSRF-Token": session["csrf_token"]}
_, fuzzer = call("POST", "/api/tokens", {"name": "schemathesis"}, browser)
_, spare_token = call("POST", "/api/tokens", {"name": "revoked by the fuzzer"}, browser)
bearer = {"Authorization": "Bearer " + fuzzer["secret"]}
call("POST", "/api/auth/signup", {"email": "friend@example.com", "password": password})


def upload(name, data, complete=True, folder=None):
    new = {"name": name, "size": len(data), "content_type": "text/plain", "crc32c": crc32c(data), "folder_id": folder}
    _, begun = call("POST", "/api/uploads", new, bearer)
    if complete:
        target = begun["upload"]
        call(target["method"], target["url"], headers=dict(target["headers"]), raw=data)
        call("POST", f"/api/uploads/{begun['file']['id']}/complete", {}, bearer)
    return begun["file"]["id"]


file_id = upload("notes.txt", b"livedrop fuzzing: a small real file\n")
spare_file = upload("deleted by the fuzzer.txt", b"bye\n")
pending = upload("never sent.bin", b"0123456789", complete=False)
uploading = upload("uploading.bin", b"0123456789", complete=False)
call("POST", f"/api/files/{file_id}/shares", {"email": "friend@example.com"}, bearer)
call("POST", f"/api/files/{file_id}/shares", {"email": "unshared@example.com"}, bearer)
_, link = call("POST", f"/api/files/{file_id}/links", {}, bearer)
_, locked = call("POST", f"/api/files/{file_id}/links", {"password": "link-password"}, bearer)
_, spare_link = call("POST", f"/api/files/{file_id}/links", {}, bearer)
call("POST", f"/api/files/{file_id}/download", {}, bearer)
call("POST", f"/api/s/{link['token']}/download", {}, {})
# Folders: one with a file in it and a folder inside, shared; one to delete.
_, trip = call("POST", "/api/folders", {"name": "Trip"}, bearer)
folder_id = trip["folder"]["id"]
call("POST", "/api/folders", {"name": "day 1", "parent_id": folder_id}, bearer)
upload("in the folder.txt", b"inside\n", folder=folder_id)
_, spare = call("POST", "/api/folders", {"name": "deleted by the fuzzer"}, bearer)
call("POST", f"/api/folders/{folder_id}/shares", {"email": "friend@example.com"}, bearer)
call("POST", f"/api/folders/{folder_id}/shares", {"email": "unshared@example.com"}, bearer)

q = json.dumps
config = f"""
# Nothing kept between runs (failures would be replayed from ./.schemathesis).
[cache]
enabled = false

# The fuzzer holds an API token of the data's owner. The session scheme
# stays unconfigured: requests carry the bearer only, and the fuzzer knows
# which credential it sends when it checks that requests without are refused.
[auth.openapi.bearer]
bearer = {q(fuzzer["secret"])}

[auth.openapi.cron]
bearer = "${{CRON_SECRET}}"

# 413 refuses too: a size over this server's max_file_size, a body over 64 KiB.
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"]

[dictionaries.files]
values = [{q(file_id)}]

[dictionaries.uploading]
values = [{q(uploading)}]

[dictionaries.folders]
values = [{q(folder_id)}]

[dictionaries.links]
values = [{q(link["token"])}, {q(locked["token"])}]

# The real file and links most of the time, drawn ids otherwise.
[[operations]]
include-operation-id = ["getFile", "renameFile", "downloadFile", "fileActivity", "share", "listLinks",
                        "createLink", "completeUpload"]
parameters = {{ "path.id" = {{ dictionary = "files", probability = 0.8 }} }}

[[operations]]
include-operation-id = ["linkInfo", "linkDownload", "linkList", "linkArchive"]
parameters = {{ "path.token" = {{ dictionary = "links", probability = 0.8 }} }}

[[operations]]
include-operation-id = ["getFolder", "updateFolder", "shareFolder"]
parameters = {{ "path.id" = {{ dictionary = "folders", probability = 0.8 }} }}

[[operations]]
include-operation-id = "listFolders"
parameters = {{ "query.parent" = {{ dictionary = "folders", probability = 0.5 }} }}

[[operations]]
include-operation-id = "deleteFolder"
parameters = {{ "path.id" = {q(spare["folder"]["id"])} }}

[[operations]]
include-operation-id = "unshareFolder"
parameters = {{ "path.id" = {q(folder_id)}, "path.email" = "unshared@example.com" }}

# What the fuzzer destroys is its own: the data above stays for the other
# operations, and the token it signs in with stays valid.
[[operations]]
include-operation-id = "revokeToken"
parameters = {{ "path.id" = {q(spare_token["token"]["id"])} }}

[[operations]]
include-operation-id = "deleteFile"
parameters = {{ "path.id" = {q(spare_file)} }}

# More bytes than the upload's size (10 here) is a 400 the schema cannot
# bound; once the fuzzer completes nothing, the upload stays pending.
[[operations]]
include-operation-id = "reportUploadProgress"
parameters = {{ "path.id" = {{ dictionary = "uploading", probability = 0.8 }} }}
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429", "5xx"]

# A selection the schema allows can still be empty (400), of files in
# different folders (400), or of an upload in progress (409).
[[operations]]
include-operation-id = "selectionArchive"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429", "5xx"]

[[operations]]
include-operation-id = "abortUpload"
parameters = {{ "path.id" = {q(pending)} }}

[[operations]]
include-operation-id = "revokeLink"
parameters = {{ "path.id" = {q(spare_link["link"]["id"])} }}

[[operations]]
include-operation-id = "unshare"
parameters = {{ "path.id" = {q(file_id)}, "path.email" = "unshared@example.com" }}

# A size over max_file_size (GET /api/config) is this deployment's limit,
# which the contract names (413 file_too_large) but cannot bound.
[[operations]]
include-operation-id = "beginUpload"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "413", "429", "5xx"]

# Completing reads the stored bytes: an upload the fuzzer began sent none
# (upload_incomplete, 422).
[[operations]]
include-operation-id = "completeUpload"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]

# A link the fuzzer made may have expired or run out of downloads (410).
[[operations]]
include-operation-id = ["linkInfo", "linkDownload", "linkList", "linkArchive"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "410", "429", "5xx"]

# The fuzzer learns the owner's address from the answers, and sharing a
# file with its owner is refused as invalid_email (400).
[[operations]]
include-operation-id = ["share", "shareFolder"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]
"""
with open(f"{work}/schemathesis.toml", "w") as f:
    f.write(config)
print(base)
PY
)

# The feed is a WebSocket: once the server answers 101 the connection
# carries frames, which schemathesis's HTTP client would read as the answer
# to its next request; tests/ speak WebSocket to it. One worker: with two,
# a link made on a file deleted meanwhile is a 500, a race of the service's
# (FOREIGN KEY constraint failed), not of the contract.
seed=${SCHEMATHESIS_SEED:-$RANDOM}
echo "schemathesis $VERSION against $base, seed $seed"
status=0
# shellcheck disable=SC2086
"$VENV/bin/schemathesis" --config-file "$work/schemathesis.toml" run "$base/api/openapi.json" --url "$base" \
  --exclude-operation-id feed --checks all --max-examples 20 --workers 1 --seed "$seed" \
  --generation-database none --no-color ${SCHEMATHESIS_ARGS:-} || status=$?
if [ "$status" != 0 ]; then
  echo "schemathesis failed (seed $seed); the server's errors:"
  grep '"level":"ERROR"' "$work/server.log" || true
fi
exit "$status"

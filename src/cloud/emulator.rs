//! The Firestore emulator for tests and local development.
//!
//! `scripts/emulators.sh start` runs every emulator for a development
//! session and writes `FIRESTORE_EMULATOR_HOST` to a file to source. Tests
//! use that emulator when the variable is set; when it is not, they start a
//! private one here (the Cloud SDK's, on a free port of 127.0.0.1), so that
//! a plain `cargo test` works on a machine with the Cloud SDK and nothing
//! started. Without either, they fail and say what to run: never a silent
//! skip.
//!
//! Process hygiene: the emulator is a Java process that outlives `gcloud`
//! when `gcloud` is killed, so this starts Java directly, in a process group
//! of its own, under a small shell watchdog that stops it as soon as its
//! stdin (a pipe from this process) closes: on `Drop`, and also when the
//! test process dies without running `Drop` (a SIGKILL, a timeout). No
//! signal is sent to a process group from here: in a trial on these
//! machines, `/usr/bin/kill -TERM -PGID` (procps-ng 4.0.2) run from a test
//! took down far more than the group.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A Firestore emulator: one given by `FIRESTORE_EMULATOR_HOST`, or one
/// this process started and stops on drop.
pub struct FirestoreEmulator {
    host: String,
    owned: Option<Child>,
    log: Option<PathBuf>,
}

impl FirestoreEmulator {
    /// The emulator named by `FIRESTORE_EMULATOR_HOST`, else a private one.
    pub async fn from_env_or_start() -> anyhow::Result<Self> {
        match std::env::var("FIRESTORE_EMULATOR_HOST") {
            Ok(host) if !host.trim().is_empty() => {
                let emulator = Self { host: host.trim().to_owned(), owned: None, log: None };
                emulator.wait_ready(Duration::from_secs(5)).await.with_context(|| {
                    format!(
                        "FIRESTORE_EMULATOR_HOST={host} is set but no emulator answers there: run \
                         `scripts/emulators.sh start` and `source .emulators/env`, or unset the variable \
                         to let the tests start their own"
                    )
                })?;
                Ok(emulator)
            }
            _ => Self::start().await,
        }
    }

    /// Starts a private emulator on a free port of 127.0.0.1 and waits until
    /// it answers (a few seconds to 25 s on these machines).
    pub async fn start() -> anyhow::Result<Self> {
        let jar = emulator_jar().context(
            "the Firestore emulator is not installed: install the Google Cloud SDK's cloud-firestore-emulator \
             component, or run `scripts/emulators.sh start` and `source .emulators/env` before the tests",
        )?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let log = std::env::temp_dir().join(format!("livedrop-firestore-emulator-{port}.log"));
        let log_file = std::fs::File::create(&log)?;
        // The watchdog: Java in the background until the shell's stdin, a
        // pipe from this process, closes.
        let script = r#"java -Duser.language=en -cp "$1" com.google.cloud.datastore.emulator.firestore.CloudFirestore \
                 start --host=127.0.0.1 --port="$2" </dev/null & j=$!
             cat >/dev/null
             kill $j 2>/dev/null
             n=0; while kill -0 $j 2>/dev/null && [ $n -lt 100 ]; do sleep 0.1; n=$((n+1)); done
             kill -9 $j 2>/dev/null; wait $j 2>/dev/null; exit 0"#;
        let child = {
            use std::os::unix::process::CommandExt;
            Command::new("sh")
                .arg("-c")
                .arg(script)
                .arg("firestore-emulator")
                .arg(&jar)
                .arg(port.to_string())
                .stdin(Stdio::piped())
                .stdout(log_file.try_clone()?)
                .stderr(log_file)
                // Its own group: a Ctrl-C meant for the tests reaches the
                // watchdog through its stdin instead, and stops Java in order.
                .process_group(0)
                .spawn()
                .context("starting the Firestore emulator (sh, java)")?
        };
        let emulator = Self { host: format!("127.0.0.1:{port}"), owned: Some(child), log: Some(log.clone()) };
        if let Err(e) = emulator.wait_ready(Duration::from_secs(90)).await {
            let tail = std::fs::read_to_string(&log).unwrap_or_default();
            bail!("the Firestore emulator did not start: {e}\n--- {} ---\n{tail}", log.display());
        }
        Ok(emulator)
    }

    /// `127.0.0.1:PORT`, as `FIRESTORE_EMULATOR_HOST` would say.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Polls `GET /` until the emulator answers `200`.
    async fn wait_ready(&self, within: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Ok(true)) = tokio::time::timeout(Duration::from_secs(2), answers(&self.host)).await {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("no answer from {} within {within:?}", self.host);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

async fn answers(host: &str) -> std::io::Result<bool> {
    let mut stream = tokio::net::TcpStream::connect(host).await?;
    stream.write_all(format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes()).await?;
    // The status line is enough; the emulator may keep the connection open.
    let mut status = [0u8; 12];
    stream.read_exact(&mut status).await?;
    Ok(&status[..] == b"HTTP/1.1 200" || &status[..] == b"HTTP/1.0 200")
}

/// The emulator's jar in the Cloud SDK (`CLOUDSDK_ROOT`, else `gcloud info`).
fn emulator_jar() -> anyhow::Result<PathBuf> {
    let root = match std::env::var_os("CLOUDSDK_ROOT") {
        Some(r) => PathBuf::from(r),
        None => {
            let out = Command::new("gcloud")
                .args(["info", "--format=value(installation.sdk_root)"])
                .stderr(Stdio::null())
                .output()
                .context("gcloud is not on PATH")?;
            PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
        }
    };
    let jar = root.join("platform/cloud-firestore-emulator/cloud-firestore-emulator.jar");
    if !jar.is_file() {
        bail!("{} does not exist", jar.display());
    }
    Ok(jar)
}

impl Drop for FirestoreEmulator {
    fn drop(&mut self) {
        if let Some(mut child) = self.owned.take() {
            // Closing the watchdog's stdin stops Java, then the watchdog.
            drop(child.stdin.take());
            let _ = child.wait();
            if let Some(log) = self.log.take() {
                let _ = std::fs::remove_file(log);
            }
        }
    }
}

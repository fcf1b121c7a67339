//! The `livedrop` client run as a process, as a person or a script uses
//! it: one `Person` per computer (a config dir and a working dir).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub const BIN: &str = env!("CARGO_BIN_EXE_livedrop");
pub const PASSWORD: &str = "correct horse battery";

/// What a finished command left.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub raw_stdout: Vec<u8>,
}

impl From<Output> for Out {
    fn from(o: Output) -> Self {
        Out {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
            raw_stdout: o.stdout,
        }
    }
}

impl Out {
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(self.code, 0, "expected success\nstdout: {}\nstderr: {}", self.stdout, self.stderr);
        self
    }

    #[track_caller]
    pub fn fails(self, code: i32, stderr_has: &str) -> Self {
        assert_eq!(self.code, code, "wrong exit code\nstdout: {}\nstderr: {}", self.stdout, self.stderr);
        assert!(self.stderr.contains(stderr_has), "stderr lacks {stderr_has:?}:\n{}", self.stderr);
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}

/// One person at one computer: a config dir and a working dir.
pub struct Person {
    pub config: TempDir,
    pub work: TempDir,
}

impl Person {
    pub fn new() -> Self {
        Self { config: tempfile::tempdir().unwrap(), work: tempfile::tempdir().unwrap() }
    }

    /// Signs up on the server at `base`.
    pub fn signed_up(base: &str, email: &str) -> Self {
        let p = Self::new();
        let out = p.input(&["signup", "--server", base, "--email", email, "--password-stdin"], PASSWORD).ok();
        assert!(out.stdout.contains(&format!("signed in as {email}")), "{}", out.stdout);
        p
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .current_dir(self.work.path())
            .env("LIVEDROP_CONFIG_DIR", self.config.path())
            .env_remove("LIVEDROP_SERVER")
            .env_remove("LIVEDROP_TOKEN")
            .env_remove("LIVEDROP_CHUNK_SIZE")
            .env_remove("CRON_SECRET")
            .env_remove("XDG_CONFIG_HOME");
        c
    }

    pub fn run(&self, args: &[&str]) -> Out {
        self.command(args).stdin(Stdio::null()).output().unwrap().into()
    }

    pub fn input(&self, args: &[&str], stdin: &str) -> Out {
        let mut child =
            self.command(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        // A command may exit before it reads its input (a broken pipe here).
        let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
        child.wait_with_output().unwrap().into()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.work.path().join(name)
    }

    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    /// The ids of this person's own files called `name`.
    pub fn ids_of(&self, name: &str) -> Vec<String> {
        let v = self.run(&["ls", "--mine", "--json"]).ok().json();
        v["files"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["name"] == name)
            .map(|f| f["id"].as_str().unwrap().to_owned())
            .collect()
    }

    pub fn file_id(&self, name: &str) -> String {
        let v = self.run(&["ls", "--json"]).ok().json();
        let all = v["files"].as_array().unwrap().iter().chain(v["shared"].as_array().unwrap().iter());
        all.filter(|f| f["name"] == name).map(|f| f["id"].as_str().unwrap().to_owned()).next().unwrap()
    }
}

pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    std::fs::File::open("/dev/urandom").unwrap().read_exact(&mut buf).unwrap();
    buf
}

#[track_caller]
pub fn wait_for(what: &str, timeout: Duration, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[track_caller]
pub fn wait_exit(child: &mut Child, timeout: Duration) -> i32 {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s.code().unwrap_or(-1);
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            panic!("the command did not finish in {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A self-hosted server on its own runtime, stopped when dropped.
pub struct Server {
    pub base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    _data: tempfile::TempDir,
}

impl Server {
    pub fn start() -> Self {
        let data = tempfile::tempdir().unwrap();
        let dir = data.path().to_owned();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                let mut opts = livedrop::server::ServeOptions::new(dir);
                opts.shutdown_grace = std::time::Duration::from_secs(1);
                livedrop::server::run(listener, opts, async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
            });
        });
        let addr = addr_rx.recv().unwrap();
        Self { base: format!("http://{addr}"), stop: Some(stop), thread: Some(thread), _data: data }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

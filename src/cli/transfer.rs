//! Uploads and downloads: streamed with constant memory, resumable, with a
//! progress bar, for both deployments (the blob URLs speak the Google Cloud
//! Storage protocol whoever serves them).
//!
//! Uploads: the file's CRC32C first (the API wants it up front; two threads
//! read the two halves), then either one signed `PUT` or a resumable
//! session. The session's URL is saved under `transfers/` at once, so a run
//! that is killed continues on the next run of the same command: the client
//! asks the session how much it holds (`Content-Range: bytes */SIZE`) and
//! sends the rest. `LIVEDROP_CHUNK_SIZE` splits the rest into several
//! requests (by default one request carries all of it: the server records
//! its progress as bytes arrive, so nothing is lost by a cut). `prepare`
//! continues an interrupted upload or computes the checksum of a new one;
//! between it and `send`, `put` skips a file that is already there.
//!
//! Downloads: into `NAME.livedrop-part` beside the destination, renamed
//! into place only after the size and the CRC32C checked out. A part left
//! by an earlier run continues with `Range`.
//!
//! Trees (`put -r`, `get -r`): one [`Overall`] line instead of a bar per
//! file: files done of all, bytes, speed, time left.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant, UNIX_EPOCH};

use bytes::Bytes;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, ETAG, LOCATION, RANGE};
use reqwest::{StatusCode, Url};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::client::{Api, error_from, net_error, seg, str_field};
use super::config::Paths;
use super::error::{CliError, Exit, Result};
use super::format;
use crate::domain::{Crc32c, sha256_hex};

/// Bytes read from disk per buffer handed to the network.
const READ_BUFFER: usize = 1 << 20;
/// Files at least this large are checksummed by two threads.
const PARALLEL_CRC: u64 = 32 << 20;
/// Retries of a cut transfer within one run, before giving up.
const RETRIES: u32 = 5;

/// How transfers behave, from flags and the environment.
#[derive(Debug, Clone)]
pub struct Options {
    /// Bytes per resumable request; `None` sends the rest in one request.
    pub chunk_size: Option<u64>,
    /// Bytes per second, at most.
    pub limit_rate: Option<u64>,
    /// Draw progress bars (only ever on a terminal).
    pub progress: bool,
    /// Say what is happening on stderr (resuming, retrying).
    pub chatty: bool,
    /// One line for many files: each transfer adds to it instead of drawing
    /// a bar of its own.
    pub overall: Option<Arc<Overall>>,
}

impl Options {
    pub fn new(limit_rate: Option<u64>, quiet: bool) -> Result<Self> {
        let chunk_size = match std::env::var("LIVEDROP_CHUNK_SIZE") {
            Ok(v) if !v.trim().is_empty() => {
                let n = format::parse_size(&v).map_err(|e| CliError::usage(format!("LIVEDROP_CHUNK_SIZE: {e}")))?;
                if n == 0 {
                    return Err(CliError::usage("LIVEDROP_CHUNK_SIZE must be more than 0"));
                }
                Some(n)
            }
            _ => None,
        };
        use std::io::IsTerminal;
        Ok(Self {
            chunk_size,
            limit_rate,
            progress: !quiet && std::io::stderr().is_terminal(),
            chatty: !quiet,
            overall: None,
        })
    }

    /// A note on stderr (unless `--quiet`).
    pub fn say(&self, msg: impl std::fmt::Display) {
        if self.chatty {
            self.suspended(|| eprintln!("{msg}"));
        }
    }

    /// A line on stderr, even with `--quiet` (what did not happen, and why).
    pub fn warn(&self, msg: impl std::fmt::Display) {
        self.suspended(|| eprintln!("{msg}"));
    }

    /// A result on stdout.
    pub fn out(&self, msg: impl std::fmt::Display) {
        self.suspended(|| println!("{msg}"));
    }

    /// Runs `f` with the overall line, if any, off the terminal.
    fn suspended<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.overall {
            Some(o) => o.bar.suspend(f),
            None => f(),
        }
    }

    /// These options with one line for `files` files of `bytes` in all;
    /// `verb` says what happens to them ("uploaded", "downloaded").
    pub fn with_overall(&self, files: usize, bytes: u64, verb: &'static str) -> Self {
        Self { overall: Some(Overall::start(self, files, bytes, verb)), ..self.clone() }
    }
}

/// The line of a tree's transfer. Its bytes are those of the files done
/// plus the current file's bar (hidden), read by a thread a few times a
/// second; a file skipped or failed leaves the total instead, so that the
/// speed and the time left are about what is really sent.
#[derive(Debug)]
pub struct Overall {
    bar: ProgressBar,
    files: usize,
    verb: &'static str,
    tally: Mutex<Tally>,
}

#[derive(Debug, Default)]
struct Tally {
    done_files: usize,
    done_bytes: u64,
    current: Option<ProgressBar>,
}

impl Overall {
    fn start(opts: &Options, files: usize, bytes: u64, verb: &'static str) -> Arc<Self> {
        let bar = if opts.progress {
            let pb = ProgressBar::with_draw_target(Some(bytes), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{msg:>24} [{bar:28}] {binary_bytes:>10}/{binary_total_bytes:<10} {binary_bytes_per_sec:>12}  {eta} left",
            )
            .expect("the template is valid")
            .progress_chars("=> ");
            pb.set_style(style);
            pb
        } else {
            ProgressBar::hidden()
        };
        let me = Arc::new(Self { bar, files, verb, tally: Mutex::new(Tally::default()) });
        me.refresh();
        if opts.progress {
            let weak: Weak<Self> = Arc::downgrade(&me);
            std::thread::spawn(move || {
                while let Some(o) = weak.upgrade() {
                    if o.bar.is_finished() {
                        break;
                    }
                    o.refresh();
                    drop(o);
                    std::thread::sleep(Duration::from_millis(150));
                }
            });
        }
        me
    }

    fn tally(&self) -> std::sync::MutexGuard<'_, Tally> {
        self.tally.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn refresh(&self) {
        let t = self.tally();
        let now = t.done_bytes + t.current.as_ref().map_or(0, ProgressBar::position);
        self.bar.set_position(now.min(self.bar.length().unwrap_or(u64::MAX)));
        self.bar.set_message(format!("{} {}/{} files", self.verb, t.done_files, self.files));
    }

    /// The bar of the file being transferred now.
    fn track(&self, pb: &ProgressBar) {
        self.tally().current = Some(pb.clone());
    }

    /// A file of `size` bytes is done.
    pub fn done(&self, size: u64) {
        {
            let mut t = self.tally();
            t.done_files += 1;
            t.done_bytes += size;
            t.current = None;
        }
        self.refresh();
    }

    /// A file of `size` bytes needed nothing sent (already there), or failed.
    pub fn passed(&self, size: u64) {
        {
            let mut t = self.tally();
            t.done_files += 1;
            t.current = None;
        }
        self.bar.set_length(self.bar.length().unwrap_or(0).saturating_sub(size));
        self.refresh();
    }

    pub fn finish(&self) {
        self.refresh();
        self.bar.finish_and_clear();
    }
}

impl Drop for Overall {
    /// Also when a command ends early: no line is left on the terminal.
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// A transfer's bar: its own line, or (for a tree) a hidden one that the
/// overall line adds up.
fn bar(opts: &Options, total: u64, msg: String) -> ProgressBar {
    if let Some(o) = &opts.overall {
        let pb = ProgressBar::hidden();
        pb.set_length(total);
        o.track(&pb);
        return pb;
    }
    plain_bar(opts, total, msg)
}

/// A bar of its own line, but none within a tree (checksums).
fn checksum_bar(opts: &Options, total: u64, msg: String) -> ProgressBar {
    if opts.overall.is_some() { ProgressBar::hidden() } else { plain_bar(opts, total, msg) }
}

fn plain_bar(opts: &Options, total: u64, msg: String) -> ProgressBar {
    if !opts.progress {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{msg:24!} [{bar:28}] {binary_bytes:>10}/{binary_total_bytes:<10} {binary_bytes_per_sec:>12}  {eta} left",
    )
    .expect("the template is valid")
    .progress_chars("=> ");
    pb.set_style(style);
    pb.set_message(msg);
    pb
}

/// Keeps a transfer under `rate` bytes per second.
struct Pace {
    rate: Option<u64>,
    start: Instant,
    done: u64,
}

impl Pace {
    fn new(rate: Option<u64>) -> Self {
        Self { rate, start: Instant::now(), done: 0 }
    }

    /// How long to wait before (or after) `n` more bytes.
    fn after(&mut self, n: usize) -> Option<Duration> {
        let rate = self.rate?;
        self.done += n as u64;
        let due = Duration::from_secs_f64(self.done as f64 / rate.max(1) as f64);
        due.checked_sub(self.start.elapsed())
    }
}

// ----- checksums -----

fn crc_of_range(path: &Path, start: u64, len: u64, pb: &ProgressBar) -> std::io::Result<u32> {
    let mut f = std::fs::File::open(path)?;
    f.seek(SeekFrom::Start(start))?;
    let mut f = f.take(len);
    let mut buf = vec![0u8; 4 << 20];
    let mut crc = 0u32;
    let mut seen = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        crc = crc32c::crc32c_append(crc, &buf[..n]);
        seen += n as u64;
        pb.inc(n as u64);
    }
    if seen != len {
        return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the file changed while it was read"));
    }
    Ok(crc)
}

/// The CRC32C of the first `len` bytes of a file; large files by two
/// threads, whose halves are combined.
fn crc_of_file(path: &Path, len: u64, pb: &ProgressBar) -> std::io::Result<u32> {
    if len < PARALLEL_CRC {
        return crc_of_range(path, 0, len, pb);
    }
    let half = len / 2;
    let (first, second) = std::thread::scope(|s| {
        let a = s.spawn(|| crc_of_range(path, 0, half, pb));
        let b = crc_of_range(path, half, len - half, pb);
        (a.join().unwrap_or_else(|_| Err(std::io::Error::other("checksum thread panicked"))), b)
    });
    Ok(crc32c::crc32c_combine(first?, second?, (len - half) as usize))
}

/// The CRC32C of a local file of `len` bytes, off the runtime's thread.
pub async fn local_crc(path: &Path, len: u64) -> Result<Crc32c> {
    let p = path.to_owned();
    let crc = tokio::task::spawn_blocking(move || crc_of_file(&p, len, &ProgressBar::hidden()))
        .await
        .map_err(|e| CliError::failure(e.to_string()))?
        .map_err(|e| CliError::io("read", path, &e))?;
    Ok(Crc32c(crc))
}

// ----- uploads -----

/// An upload in progress, saved so that the next run can continue it.
#[derive(Debug, Serialize, Deserialize)]
struct UploadState {
    server: String,
    path: String,
    name: String,
    size: u64,
    modified_ns: u64,
    crc32c: String,
    file_id: String,
    /// The folder it goes in; `None`: the top.
    #[serde(default)]
    folder_id: Option<String>,
    /// The resumable session; `None` for a single `PUT`, which restarts.
    session_url: Option<String>,
}

/// Where an upload goes, and what completing it does if the name is taken
/// there by then.
#[derive(Debug, Clone, Default)]
pub struct UploadTo {
    /// `None`: the top.
    pub folder_id: Option<String>,
    /// Replace the file that has the name; else keep both ("name (2).ext").
    pub replace: bool,
}

/// A guess from the file name, for the browser's sake when it is opened.
pub fn content_type_for(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "txt" | "md" | "log" | "csv" => "text/plain",
        "html" | "htm" => "text/html",
        "json" => "application/json",
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "mp4" | "m4v" => "video/mp4",
        "webm" => "video/webm",
        "mov" => "video/quicktime",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "ogg" => "audio/ogg",
        "zip" => "application/zip",
        "gz" | "tgz" => "application/gzip",
        "tar" => "application/x-tar",
        _ => "application/octet-stream",
    }
}

/// Checks that `local` is a regular file we may read; returns its size and
/// modification time.
pub fn check_readable(local: &Path) -> Result<(u64, u64)> {
    let meta = std::fs::metadata(local).map_err(|e| CliError::io("read", local, &e))?;
    if meta.is_dir() {
        return Err(CliError::local(format!("{} is a directory; livedrop uploads files", local.display()))
            .hint("`livedrop put -r` uploads a directory with everything in it, as a folder"));
    }
    if !meta.is_file() {
        return Err(CliError::local(format!("{} is not a regular file", local.display())));
    }
    std::fs::File::open(local).map_err(|e| CliError::io("read", local, &e))?;
    let modified =
        meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map(|d| d.as_nanos() as u64).unwrap_or(0);
    Ok((meta.len(), modified))
}

/// An upload about to start: the file is readable and its checksum known,
/// and nothing has been sent yet.
pub struct NewUpload {
    key: String,
    abs: PathBuf,
    local: PathBuf,
    name: String,
    size: u64,
    modified_ns: u64,
    crc: Crc32c,
    to: UploadTo,
}

impl NewUpload {
    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn crc32c(&self) -> Crc32c {
        self.crc
    }
}

/// What [`prepare`] found.
pub enum Prepared {
    /// An interrupted upload of this file was continued, and is ready.
    Resumed(Value),
    /// A new upload, for [`send`].
    New(NewUpload),
}

/// Continues an interrupted upload of `local` as `name` into `to` if there
/// is one; otherwise checks the file and computes its CRC32C for a new upload.
pub async fn prepare(
    api: &Api,
    paths: &Paths,
    local: &Path,
    name: &str,
    to: &UploadTo,
    opts: &Options,
) -> Result<Prepared> {
    let (size, modified_ns) = check_readable(local)?;
    let abs = std::fs::canonicalize(local).map_err(|e| CliError::io("read", local, &e))?;
    // At the top, the key of the versions before folders: their uploads continue.
    let mut what = format!("{}\n{}\n{name}", api.server(), abs.display());
    if let Some(folder) = &to.folder_id {
        what.push_str(&format!("\n{folder}"));
    }
    let key = format!("up-{}", &sha256_hex(&what)[..32]);

    let saved: Option<UploadState> = paths.load_state(&key);
    if let Some(s) = saved {
        let same = s.size == size && s.modified_ns == modified_ns && s.server == api.server();
        if same {
            if let Some(file) = resume_upload(api, &s, local, opts).await? {
                paths.remove_state(&key);
                return Ok(Prepared::Resumed(file));
            }
        } else {
            opts.say(format!("{} changed since its last upload was interrupted; starting over", local.display()));
        }
        // Best effort: the old pending record would hold quota until swept.
        let _ = api.delete(&format!("/api/uploads/{}", seg(&s.file_id))).await;
        paths.remove_state(&key);
    }

    let pb = checksum_bar(opts, size, format!("checksum {name}"));
    let crc = {
        let (path, pb2) = (local.to_owned(), pb.clone());
        tokio::task::spawn_blocking(move || crc_of_file(&path, size, &pb2))
            .await
            .map_err(|e| CliError::failure(e.to_string()))?
            .map_err(|e| CliError::io("read", local, &e))?
    };
    pb.finish_and_clear();
    Ok(Prepared::New(NewUpload {
        key,
        abs,
        local: local.to_owned(),
        name: name.to_owned(),
        size,
        modified_ns,
        crc: Crc32c(crc),
        to: to.clone(),
    }))
}

/// Begins, sends and completes a new upload; returns the ready file's record.
pub async fn send(api: &Api, paths: &Paths, up: NewUpload, opts: &Options) -> Result<Value> {
    let NewUpload { key, abs, local, name, size, modified_ns, crc, to } = up;
    let local = local.as_path();
    let begin = api
        .post(
            "/api/uploads",
            &json!({
                "name": name,
                "size": size,
                "content_type": content_type_for(&name),
                "crc32c": crc.encode(),
                "folder_id": to.folder_id,
                "on_conflict": if to.replace { "replace" } else { "keep_both" },
            }),
        )
        .await?;
    let file_id = str_field(&begin["file"], "id")?.to_owned();
    let target = &begin["upload"];
    let url = api.url(str_field(target, "url")?)?;
    let headers: Vec<(String, String)> = serde_json::from_value(target["headers"].clone()).unwrap_or_default();
    let resumable = target["resumable"].as_bool().unwrap_or(false);

    let mut state = UploadState {
        server: api.server(),
        path: abs.display().to_string(),
        name: name.clone(),
        size,
        modified_ns,
        crc32c: crc.encode(),
        file_id: file_id.clone(),
        folder_id: to.folder_id.clone(),
        session_url: None,
    };
    paths.save_state(&key, &state)?;
    let pb = bar(opts, size, name.clone());
    let sending = async {
        if resumable {
            let session = start_session(api, url, &headers).await?;
            state.session_url = Some(session.to_string());
            paths.save_state(&key, &state)?;
            send_rest(api, &session, local, size, 0, opts, &pb).await
        } else {
            single_put(api, url, &headers, local, size, opts, &pb).await
        }
    };
    while_reporting(api, &file_id, &pb, sending).await?;
    pb.finish_and_clear();
    let file = complete(api, &file_id).await?;
    paths.remove_state(&key);
    Ok(file)
}

async fn complete(api: &Api, file_id: &str) -> Result<Value> {
    match api.post(&format!("/api/uploads/{}/complete", seg(file_id)), &json!({})).await {
        Ok(v) => Ok(v["file"].clone()),
        // Completed by a run that was killed right after: it is ready.
        Err(e) if e.code.as_deref() == Some("not_pending") => {
            Ok(api.get(&format!("/api/files/{}", seg(file_id))).await?["file"].clone())
        }
        Err(e) if e.exit == Exit::Integrity => {
            let _ = api.delete(&format!("/api/uploads/{}", seg(file_id))).await;
            Err(CliError::new(
                Exit::Integrity,
                format!("the server stored something else than the file: {}", e.message),
            )
            .hint("was the file changed during the upload? run the command again"))
        }
        Err(e) => Err(e),
    }
}

/// How often a long upload tells the server how far it is, for those who
/// watch its folder (as the web app does).
const PROGRESS_EVERY: Duration = Duration::from_secs(2);

/// Runs `sending`, and meanwhile, every `PROGRESS_EVERY`, tells the server
/// how many bytes have gone (`pb`'s position): a file sent in less never
/// reports, and a report that fails changes nothing of the upload.
async fn while_reporting<T>(
    api: &Api,
    file_id: &str,
    pb: &ProgressBar,
    sending: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    let reporting = async {
        let mut told = 0;
        loop {
            tokio::time::sleep(PROGRESS_EVERY).await;
            let sent = pb.position().min(pb.length().unwrap_or(0));
            if sent > told {
                let path = format!("/api/uploads/{}/progress", seg(file_id));
                if api.post(&path, &json!({ "received": sent })).await.is_ok() {
                    told = sent;
                }
            }
        }
    };
    tokio::select! {
        r = sending => r,
        () = reporting => unreachable!("reporting goes on until the bytes are sent"),
    }
}

/// Continues a saved upload; `None` if it cannot be continued.
async fn resume_upload(api: &Api, s: &UploadState, local: &Path, opts: &Options) -> Result<Option<Value>> {
    let Some(session) = &s.session_url else { return Ok(None) };
    let url = Url::parse(session).map_err(|e| CliError::failure(e.to_string()))?;
    let pb = bar(opts, s.size, s.name.clone());
    match session_status(api, &url, s.size).await? {
        Status::Gone => {
            opts.say(format!("the interrupted upload of {} has expired on the server; starting over", s.name));
            return Ok(None);
        }
        Status::Complete => {}
        Status::Partial(n) => {
            opts.say(format!("resuming the upload of {} at {} of {}", s.name, format::size(n), format::size(s.size)));
            while_reporting(api, &s.file_id, &pb, send_rest(api, &url, local, s.size, n, opts, &pb)).await?;
        }
    }
    pb.finish_and_clear();
    match complete(api, &s.file_id).await {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.exit == Exit::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

async fn start_session(api: &Api, url: Url, headers: &[(String, String)]) -> Result<Url> {
    let mut req = api.http().post(url).header(CONTENT_LENGTH, 0);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    let resp = req.send().await.map_err(|e| net_error(&e, &api.base))?;
    if !resp.status().is_success() {
        return Err(error_from(resp).await);
    }
    let location = resp
        .headers()
        .get(LOCATION)
        .and_then(|l| l.to_str().ok())
        .ok_or_else(|| CliError::failure("the storage did not say where to send the file (no Location)"))?;
    api.url(location)
}

enum Status {
    Partial(u64),
    Complete,
    Gone,
}

/// `Range: bytes=0-N` of a `308`: how many bytes the session holds.
fn stored_bytes(resp: &reqwest::Response) -> u64 {
    resp.headers()
        .get(RANGE)
        .and_then(|r| r.to_str().ok())
        .and_then(|r| r.trim().strip_prefix("bytes=0-"))
        .and_then(|n| n.parse::<u64>().ok())
        .map_or(0, |last| last + 1)
}

async fn session_status(api: &Api, url: &Url, size: u64) -> Result<Status> {
    let resp = api
        .http()
        .put(url.clone())
        .header(CONTENT_RANGE, format!("bytes */{size}"))
        .header(CONTENT_LENGTH, 0)
        .send()
        .await
        .map_err(|e| net_error(&e, &api.base))?;
    match resp.status() {
        StatusCode::PERMANENT_REDIRECT => Ok(Status::Partial(stored_bytes(&resp))),
        s if s.is_success() => Ok(Status::Complete),
        StatusCode::NOT_FOUND | StatusCode::GONE => Ok(Status::Gone),
        _ => Err(error_from(resp).await),
    }
}

/// One pace for all the requests of an upload.
type SharedPace = Arc<Mutex<Pace>>;

/// Where a failure of the file's reader is kept, so that a request cut by
/// it is reported as the local problem it is.
type ReadError = Arc<Mutex<Option<CliError>>>;

/// `len` bytes of the file from `offset`, read by a thread ahead of the
/// network, as a request body.
fn file_body(
    path: &Path,
    offset: u64,
    len: u64,
    pace: &SharedPace,
    pb: &ProgressBar,
    failed: &ReadError,
) -> reqwest::Body {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
    let (path, pb, failed, pace) = (path.to_owned(), pb.clone(), failed.clone(), pace.clone());
    std::thread::spawn(move || {
        let result = (|| -> std::io::Result<()> {
            let mut f = std::fs::File::open(&path)?;
            f.seek(SeekFrom::Start(offset))?;
            let mut left = len;
            while left > 0 {
                let n = (READ_BUFFER as u64).min(left) as usize;
                let mut buf = vec![0u8; n];
                f.read_exact(&mut buf).map_err(|e| {
                    if e.kind() == std::io::ErrorKind::UnexpectedEof {
                        std::io::Error::other("the file got shorter while it was uploaded")
                    } else {
                        e
                    }
                })?;
                left -= n as u64;
                let wait = pace.lock().unwrap_or_else(|p| p.into_inner()).after(n);
                if let Some(wait) = wait {
                    std::thread::sleep(wait);
                }
                if tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
                    return Ok(()); // the request is gone
                }
                pb.inc(n as u64);
            }
            Ok(())
        })();
        if let Err(e) = result {
            let msg = format!("cannot read {}: {e}", path.display());
            *failed.lock().unwrap_or_else(|p| p.into_inner()) = Some(CliError::local(msg.clone()));
            let _ = tx.blocking_send(Err(std::io::Error::other(msg)));
        }
    });
    reqwest::Body::wrap_stream(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)))
}

fn take_read_error(failed: &ReadError) -> Option<CliError> {
    failed.lock().unwrap_or_else(|p| p.into_inner()).take()
}

async fn single_put(
    api: &Api,
    url: Url,
    headers: &[(String, String)],
    local: &Path,
    size: u64,
    opts: &Options,
    pb: &ProgressBar,
) -> Result<()> {
    let failed = ReadError::default();
    let pace = SharedPace::new(Mutex::new(Pace::new(opts.limit_rate)));
    let mut req = api.http().put(url).header(CONTENT_LENGTH, size);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    let resp = req.body(file_body(local, 0, size, &pace, pb, &failed)).send().await;
    if let Some(e) = take_read_error(&failed) {
        return Err(e);
    }
    let resp = resp.map_err(|e| net_error(&e, &api.base))?;
    if !resp.status().is_success() {
        return Err(error_from(resp).await);
    }
    Ok(())
}

/// Sends bytes `offset..size` to a resumable session, retrying cut
/// requests from wherever the session says it stands.
async fn send_rest(
    api: &Api,
    session: &Url,
    local: &Path,
    size: u64,
    mut offset: u64,
    opts: &Options,
    pb: &ProgressBar,
) -> Result<()> {
    let chunk = opts.chunk_size.unwrap_or(u64::MAX).max(1);
    let mut failures = 0u32;
    let pace = SharedPace::new(Mutex::new(Pace::new(opts.limit_rate)));
    loop {
        pb.set_position(offset);
        let end = size.min(offset.saturating_add(chunk));
        let failed = ReadError::default();
        let sent = api
            .http()
            .put(session.clone())
            .header(CONTENT_RANGE, format!("bytes {offset}-{}/{size}", end - 1))
            .header(CONTENT_LENGTH, end - offset)
            .body(file_body(local, offset, end - offset, &pace, pb, &failed))
            .send()
            .await;
        if let Some(e) = take_read_error(&failed) {
            return Err(e);
        }
        let problem = match sent {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) if r.status() == StatusCode::PERMANENT_REDIRECT => {
                let stored = stored_bytes(&r);
                if stored < end {
                    // The server kept less than was sent: ask again below.
                    CliError::failure(format!("the server kept {stored} of {end} bytes"))
                } else {
                    offset = stored;
                    failures = 0;
                    continue;
                }
            }
            Ok(r) if r.status().is_server_error() || r.status() == StatusCode::CONFLICT => error_from(r).await,
            Ok(r) => return Err(error_from(r).await),
            Err(e) => net_error(&e, &api.base),
        };
        failures += 1;
        if failures > RETRIES {
            return Err(problem.hint("run the same command again: the upload continues where it stopped"));
        }
        opts.say(format!("upload interrupted ({}); retrying", problem.message));
        tokio::time::sleep(Duration::from_millis(250 << failures.min(5))).await;
        match session_status(api, session, size).await {
            Ok(Status::Partial(n)) => offset = n,
            Ok(Status::Complete) => return Ok(()),
            Ok(Status::Gone) => return Err(CliError::failure("the upload session has gone from the server")),
            Err(e) if e.exit == Exit::Unreachable && failures < RETRIES => {}
            Err(e) => return Err(e.hint("run the same command again: the upload continues where it stopped")),
        }
    }
}

// ----- downloads -----

/// What is being downloaded.
pub struct Source {
    pub url: Url,
    pub name: String,
    pub size: u64,
    /// Known from the file's record; for public links, from the storage's
    /// answer (`ETag` self-hosted, `x-goog-hash` on GCS).
    pub crc32c: Option<Crc32c>,
    /// What identifies these bytes across runs (a file id, a link).
    pub identity: String,
}

pub enum Dest {
    File { path: PathBuf, force: bool },
    Stdout,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct DownloadState {
    identity: String,
    size: u64,
}

/// The part file beside `dest`.
pub fn part_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".livedrop-part");
    dest.with_file_name(name)
}

/// The CRC32C the storage reports for the whole object, if it does.
fn reported_crc(resp: &reqwest::Response) -> Option<Crc32c> {
    if let Some(h) = resp
        .headers()
        .get_all("x-goog-hash")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.split(',').find_map(|p| p.trim().strip_prefix("crc32c=").map(str::to_owned)))
    {
        return Crc32c::parse(&h).ok();
    }
    let etag = resp.headers().get(ETAG)?.to_str().ok()?;
    Crc32c::parse(etag.trim_start_matches("W/").trim_matches('"')).ok()
}

/// Standard output without Rust's line buffering, which would look for
/// newlines in every byte of a binary file.
fn raw_stdout() -> Box<dyn Write> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        if let Ok(fd) = std::io::stdout().as_fd().try_clone_to_owned() {
            return Box::new(std::fs::File::from(fd));
        }
    }
    Box::new(std::io::stdout())
}

fn write_error(part: &Option<PathBuf>, e: &std::io::Error) -> CliError {
    match part {
        Some(p) => CliError::io("write", p, e),
        None => CliError::local(format!("cannot write to standard output: {e}")),
    }
}

/// Downloads `src` to `dest`, continuing a part left by an earlier run.
pub async fn download(http: &reqwest::Client, paths: &Paths, src: Source, dest: Dest, opts: &Options) -> Result<()> {
    let (path, force) = match &dest {
        Dest::File { path, force } => (Some(path.clone()), *force),
        Dest::Stdout => (None, false),
    };
    let part = path.as_deref().map(part_path);
    let mut key = None;
    let mut offset = 0u64;
    let mut crc = 0u32;
    if let (Some(path), Some(part)) = (&path, &part) {
        if path.exists() && !force {
            return Err(CliError::local(format!("{} already exists", path.display()))
                .hint("pass --force to overwrite it, or -o PATH to save it elsewhere"));
        }
        let dir = part.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let abs = std::fs::canonicalize(dir).map_err(|e| CliError::io("write to", dir, &e))?;
        let k = format!(
            "down-{}",
            &sha256_hex(&abs.join(part.file_name().unwrap_or_default()).display().to_string())[..32]
        );
        let wanted = DownloadState { identity: src.identity.clone(), size: src.size };
        let saved: Option<DownloadState> = paths.load_state(&k);
        let existing = std::fs::metadata(part).map(|m| m.len()).ok();
        match existing {
            Some(len) if saved.as_ref() == Some(&wanted) && len <= src.size && len > 0 => {
                offset = len;
                opts.say(format!(
                    "resuming the download of {} at {} of {}",
                    src.name,
                    format::size(len),
                    format::size(src.size)
                ));
                let (p, pb) = (part.clone(), ProgressBar::hidden());
                crc = tokio::task::spawn_blocking(move || crc_of_range(&p, 0, len, &pb))
                    .await
                    .map_err(|e| CliError::failure(e.to_string()))?
                    .map_err(|e| CliError::io("read", part, &e))?;
            }
            _ => {
                if existing.is_some() {
                    std::fs::remove_file(part).map_err(|e| CliError::io("remove", part, &e))?;
                }
            }
        }
        paths.save_state(&k, &wanted)?;
        key = Some(k);
    }

    let pb = bar(opts, src.size, src.name.clone());
    pb.set_position(offset);
    let mut expected = src.crc32c;
    let mut failures = 0u32;
    while offset < src.size || (offset == 0 && src.size == 0 && failures == 0) {
        let mut req = http.get(src.url.clone());
        if offset > 0 {
            req = req.header(RANGE, format!("bytes={offset}-"));
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                failures += 1;
                if failures > RETRIES {
                    return Err(net_error(&e, &src.url));
                }
                tokio::time::sleep(Duration::from_millis(250 << failures.min(5))).await;
                continue;
            }
        };
        match resp.status() {
            StatusCode::PARTIAL_CONTENT => {
                let starts_at = resp
                    .headers()
                    .get(CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("bytes "))
                    .and_then(|v| v.split('-').next())
                    .and_then(|v| v.parse::<u64>().ok());
                if starts_at != Some(offset) {
                    return Err(CliError::failure("the storage answered a different range than asked for"));
                }
            }
            StatusCode::OK => {
                // The whole file again (a server without ranges): start over.
                offset = 0;
                crc = 0;
                pb.set_position(0);
            }
            StatusCode::RANGE_NOT_SATISFIABLE if failures == 0 => {
                offset = 0;
                crc = 0;
                failures += 1;
                continue;
            }
            _ => return Err(error_from(resp).await),
        }
        if let Some(reported) = reported_crc(&resp) {
            match expected {
                Some(e) if e != reported => {
                    return Err(CliError::new(
                        Exit::Integrity,
                        format!("the storage holds other bytes for {} than its record says", src.name),
                    ));
                }
                _ => expected = Some(reported),
            }
        }
        let out: Box<dyn Write> = match &part {
            Some(part) => {
                let mut f = std::fs::OpenOptions::new()
                    .create(true)
                    .write(true)
                    .truncate(false)
                    .open(part)
                    .map_err(|e| CliError::io("write", part, &e))?;
                // Only when needed: on ext4, truncating a file to zero makes
                // its close start writing back everything written to it
                // (`auto_da_alloc`), which made downloads a third slower.
                let len = f.metadata().map_err(|e| CliError::io("write", part, &e))?.len();
                if len != offset {
                    f.set_len(offset).map_err(|e| CliError::io("write", part, &e))?;
                }
                f.seek(SeekFrom::Start(offset)).map_err(|e| CliError::io("write", part, &e))?;
                Box::new(f)
            }
            None => raw_stdout(),
        };
        // Each chunk is written as it arrives, on this thread, while it is
        // still in the CPU's cache: measured faster than a writer thread or
        // a big write buffer (see benches/cli_transfer.sh).
        let mut out = out;
        let mut pace = Pace::new(opts.limit_rate);
        let mut resp = resp;
        let mut cut = None;
        loop {
            match resp.chunk().await {
                Ok(Some(b)) => {
                    crc = crc32c::crc32c_append(crc, &b);
                    out.write_all(&b).map_err(|e| write_error(&part, &e))?;
                    offset += b.len() as u64;
                    pb.inc(b.len() as u64);
                    if let Some(wait) = pace.after(b.len()) {
                        tokio::time::sleep(wait).await;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    cut = Some(e);
                    break;
                }
            }
        }
        out.flush().map_err(|e| write_error(&part, &e))?;
        match cut {
            None if offset >= src.size => break,
            None => {
                // The body ended early without an error: ask for the rest.
                failures += 1;
            }
            Some(e) => {
                failures += 1;
                if failures > RETRIES {
                    return Err(net_error(&e, &src.url).hint("run the same command again: the download continues"));
                }
                opts.say(format!("download interrupted ({e}); retrying"));
            }
        }
        if failures > RETRIES {
            return Err(CliError::failure("the storage kept ending the download early")
                .hint("run the same command again: the download continues"));
        }
        tokio::time::sleep(Duration::from_millis(100 << failures.min(5))).await;
    }
    pb.finish_and_clear();

    let wrong = |why: String| {
        if let (Some(part), Some(k)) = (&part, &key) {
            let _ = std::fs::remove_file(part);
            paths.remove_state(k);
        }
        Err(CliError::new(Exit::Integrity, format!("the download of {} is corrupt: {why}", src.name))
            .hint("the partial file was removed; run the command again"))
    };
    if offset != src.size {
        return wrong(format!("got {offset} bytes, expected {}", src.size));
    }
    if let Some(e) = expected {
        if e.0 != crc {
            return wrong(format!("its CRC32C is {} instead of {}", Crc32c(crc), e));
        }
    }
    if let (Some(path), Some(part)) = (&path, &part) {
        if path.exists() && !force {
            return Err(CliError::local(format!("{} appeared during the download", path.display()))
                .hint(format!("the bytes are in {}; pass --force to overwrite", part.display())));
        }
        std::fs::rename(part, path).map_err(|e| CliError::io("write", path, &e))?;
    }
    if let Some(k) = &key {
        paths.remove_state(k);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parallel_checksum_equals_a_plain_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..(PARALLEL_CRC as usize + 12345)).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let crc = crc_of_file(&path, data.len() as u64, &ProgressBar::hidden()).unwrap();
        assert_eq!(crc, crc32c::crc32c(&data));
    }

    #[test]
    fn part_files_sit_beside_their_destination() {
        assert_eq!(part_path(Path::new("dir/a b.txt")), PathBuf::from("dir/a b.txt.livedrop-part"));
    }

    #[test]
    fn content_types_follow_the_extension() {
        assert_eq!(content_type_for("a.PDF"), "application/pdf");
        assert_eq!(content_type_for("noext"), "application/octet-stream");
    }
}

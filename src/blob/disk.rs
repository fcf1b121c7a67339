//! The self-hosted blob store: a folder on disk.
//!
//! ```text
//! <root>/objects/<file id>        the bytes of a complete object
//! <root>/objects/<file id>.meta   its size and CRC32C (moved in last: the object exists once it is there)
//! <root>/objects/<file id>.tomb   a tombstone: the file was completed and deleted, or cancelled
//! <root>/sessions/<session>.json  a resumable upload: object, size, offset, CRC so far
//! <root>/sessions/<session>.part  the bytes received so far
//! <root>/tmp/                     single PUTs in flight (emptied at start)
//! ```
//!
//! Bytes stream through a fixed buffer, so memory stays constant whatever
//! the size. An object appears only after its bytes are synced and renamed
//! into place. A session's `.json` is rewritten (atomically) after every
//! chunk, so a session survives a restart: bytes past its recorded offset
//! are cut off and the client resends them after asking for the status.
//!
//! Names are create-only, as `BlobStore` requires: a name that holds an
//! object (`.meta`) or a tombstone (`.tomb`) takes no bytes, whichever
//! signed URL or session asks. The check and the move into place happen
//! under one lock (`names`), so a delete and a late upload cannot cross.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncSeekExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use super::signing::Signer;
use super::{BlobStore, Disposition, ObjectInfo, ObjectPage, StoredObject, UploadTarget};
use crate::domain::{ContentType, Crc32c, FileId, FileName, random_token};
use crate::error::{Error, Result};

/// Bytes gathered before each write to disk.
const WRITE_BUFFER: usize = 1 << 20;
/// A session's progress is recorded at least this often during one request,
/// so that a cut connection loses little.
const CHECKPOINT_BYTES: u64 = 64 << 20;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SessionState {
    object: String,
    size: u64,
    content_type: String,
    offset: u64,
    crc: u32,
    created_at: i64,
}

/// Where a resumable session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// This many bytes are stored (`Range: bytes=0-(n-1)`).
    Partial(u64),
    Complete(ObjectInfo),
}

/// The bytes a chunk claims to carry (`Content-Range: bytes first-last/total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkRange {
    pub first: u64,
    pub last: u64,
    pub total: Option<u64>,
}

pub struct DiskBlobs {
    root: PathBuf,
    signer: Signer,
    /// One writer at a time per session. An entry lives only while a
    /// request holds or waits for its session: requests for sessions that
    /// do not exist never make one.
    sessions: Arc<Mutex<SlotMap>>,
    /// Held while a name changes state (bytes moved in, tombstone laid),
    /// never across I/O that waits on the network.
    names: Mutex<()>,
}

type SlotMap = HashMap<String, Arc<Slot>>;

/// Who writes to a session. A new request supersedes the one before it: a
/// client only sends again when it believes its last connection dropped,
/// and a half-open connection must not hold the session hostage.
#[derive(Default)]
struct Slot {
    writer: Arc<tokio::sync::Mutex<()>>,
    current: Mutex<CancellationToken>,
}

/// The right to write to a session, until dropped or superseded.
struct Claim {
    _writer: tokio::sync::OwnedMutexGuard<()>,
    superseded: CancellationToken,
    slot: Arc<Slot>,
    id: String,
    map: Arc<Mutex<SlotMap>>,
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        // The map's reference and ours: nobody else wants the session.
        if Arc::strong_count(&self.slot) <= 2 {
            map.remove(&self.id);
        }
    }
}

fn valid_session_id(s: &str) -> bool {
    s.len() >= 22 && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

async fn sync_dir(dir: &Path) -> Result<()> {
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || std::fs::File::open(dir)?.sync_all()).await.map_err(Error::internal)??;
    Ok(())
}

/// Writes `contents` to `path` atomically (temp file, sync, rename).
async fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!("tmp{}", random_token(6)));
    let mut f = tokio::fs::File::create(&tmp).await?;
    f.write_all(contents).await?;
    f.sync_all().await?;
    tokio::fs::rename(&tmp, path).await?;
    Ok(())
}

/// Copies the body to `file`: skips its first `skip` bytes (already stored),
/// then takes at most `max` bytes. Returns how many bytes were written and
/// the CRC so far, together with the error that stopped it, if any: the
/// caller records the progress either way.
async fn pump<S, E>(
    file: &mut tokio::fs::File,
    body: S,
    superseded: &CancellationToken,
    mut skip: u64,
    max: u64,
    crc: &mut u32,
    mut checkpoint: impl FnMut(u64, u32) -> Option<tokio::task::JoinHandle<()>>,
) -> (u64, Result<()>)
where
    S: Stream<Item = std::result::Result<Bytes, E>>,
    E: std::fmt::Display,
{
    let mut body = std::pin::pin!(body);
    let mut buf: Vec<u8> = Vec::with_capacity(WRITE_BUFFER);
    let mut written = 0u64;
    let mut since_checkpoint = 0u64;
    let outcome = loop {
        let next = tokio::select! {
            biased;
            _ = superseded.cancelled() => break Err(Error::InvalidRequest("a newer request took over this upload session".into())),
            next = body.next() => next,
        };
        let chunk = match next {
            None => break Ok(()),
            Some(Err(e)) => break Err(Error::InvalidRequest(format!("the upload was interrupted: {e}"))),
            Some(Ok(c)) => c,
        };
        let mut chunk: &[u8] = &chunk;
        if skip > 0 {
            let n = skip.min(chunk.len() as u64) as usize;
            chunk = &chunk[n..];
            skip -= n as u64;
        }
        let room = max - written - buf.len() as u64;
        if chunk.len() as u64 > room {
            chunk = &chunk[..room as usize];
            *crc = crc32c::crc32c_append(*crc, chunk);
            buf.extend_from_slice(chunk);
            break Err(Error::PayloadTooLarge { limit: max });
        }
        *crc = crc32c::crc32c_append(*crc, chunk);
        buf.extend_from_slice(chunk);
        if buf.len() >= WRITE_BUFFER {
            if let Err(e) = file.write_all(&buf).await {
                return (written, Err(e.into()));
            }
            written += buf.len() as u64;
            since_checkpoint += buf.len() as u64;
            buf.clear();
            if since_checkpoint >= CHECKPOINT_BYTES {
                since_checkpoint = 0;
                // The bytes must be on disk before the offset that counts
                // them is, or a crash could leave a recorded offset over
                // bytes that never arrived.
                if file.flush().await.is_ok() && file.sync_data().await.is_ok() {
                    if let Some(h) = checkpoint(written, *crc) {
                        let _ = h.await;
                    }
                }
            }
        }
    };
    if !buf.is_empty() {
        if let Err(e) = file.write_all(&buf).await {
            return (written, Err(e.into()));
        }
        written += buf.len() as u64;
    }
    if let Err(e) = file.flush().await {
        return (written, Err(e.into()));
    }
    (written, outcome)
}

impl DiskBlobs {
    pub fn open(root: &Path, signer: Signer) -> Result<Self> {
        for d in ["objects", "sessions", "tmp"] {
            std::fs::create_dir_all(root.join(d))?;
        }
        // Single PUTs that were in flight when the process stopped are lost
        // (the client retries them); leftovers only waste space.
        for entry in std::fs::read_dir(root.join("tmp"))? {
            let _ = std::fs::remove_file(entry?.path());
        }
        Ok(Self { root: root.to_owned(), signer, sessions: Arc::default(), names: Mutex::new(()) })
    }

    pub fn signer(&self) -> &Signer {
        &self.signer
    }

    fn object_path(&self, object: &str) -> PathBuf {
        self.root.join("objects").join(object)
    }

    fn meta_path(&self, object: &str) -> PathBuf {
        self.root.join("objects").join(format!("{object}.meta"))
    }

    fn tomb_path(&self, object: &str) -> PathBuf {
        self.root.join("objects").join(format!("{object}.tomb"))
    }

    /// The name holds an object or a tombstone: it takes no more bytes.
    fn closed(&self, object: &str) -> bool {
        self.meta_path(object).exists() || self.tomb_path(object).exists()
    }

    fn refuse_if_closed(&self, object: &str) -> Result<()> {
        if self.closed(object) { Err(Error::UploadClosed) } else { Ok(()) }
    }

    fn session_path(&self, id: &str, ext: &str) -> PathBuf {
        self.root.join("sessions").join(format!("{id}.{ext}"))
    }

    /// Stops whoever is writing to the session, waits until they have
    /// recorded their progress, and takes over.
    /// A session that does not exist is `not_found` before anything is
    /// kept for it.
    async fn claim(&self, id: &str) -> Result<Claim> {
        if !valid_session_id(id) || !tokio::fs::try_exists(self.session_path(id, "json")).await.unwrap_or(false) {
            return Err(Error::not_found("upload session"));
        }
        let slot = self.sessions.lock().unwrap_or_else(|p| p.into_inner()).entry(id.to_owned()).or_default().clone();
        slot.current.lock().unwrap_or_else(|p| p.into_inner()).cancel();
        let writer = slot.writer.clone().lock_owned().await;
        let superseded = CancellationToken::new();
        *slot.current.lock().unwrap_or_else(|p| p.into_inner()) = superseded.clone();
        Ok(Claim { _writer: writer, superseded, slot, id: id.to_owned(), map: self.sessions.clone() })
    }

    /// How many sessions are held or waited for in memory (for tests).
    pub fn sessions_in_memory(&self) -> usize {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    async fn load_session(&self, id: &str) -> Result<SessionState> {
        if !valid_session_id(id) {
            return Err(Error::not_found("upload session"));
        }
        match tokio::fs::read(self.session_path(id, "json")).await {
            Ok(raw) => serde_json::from_slice(&raw).map_err(Error::internal),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::not_found("upload session")),
            Err(e) => Err(e.into()),
        }
    }

    async fn save_session(&self, id: &str, s: &SessionState) -> Result<()> {
        write_atomic(&self.session_path(id, "json"), &serde_json::to_vec(s).map_err(Error::internal)?).await
    }

    /// Moves complete (synced) bytes at `from` into place as `object`, if
    /// the name is still open; `Error::UploadClosed` otherwise.
    async fn publish(&self, from: &Path, object: &str, info: ObjectInfo) -> Result<()> {
        let meta = serde_json::json!({ "size": info.size, "crc32c": info.crc32c.0 });
        let meta_tmp = self.root.join("tmp").join(format!("{}.meta", random_token(16)));
        write_atomic(&meta_tmp, meta.to_string().as_bytes()).await?;
        let moved = {
            let _names = self.names.lock().unwrap_or_else(|p| p.into_inner());
            if self.closed(object) {
                Err(Error::UploadClosed)
            } else {
                // Bytes first, then the meta that says they are there: a
                // crash between the two leaves bytes nobody sees, which the
                // next upload of the same pending file replaces.
                std::fs::rename(from, self.object_path(object))
                    .and_then(|()| std::fs::rename(&meta_tmp, self.meta_path(object)))
                    .map_err(Error::from)
            }
        };
        if moved.is_err() {
            let _ = tokio::fs::remove_file(&meta_tmp).await;
        }
        moved?;
        sync_dir(&self.root.join("objects")).await
    }

    /// Stores a whole object from one request body of exactly `size` bytes.
    pub async fn put_object<S, E>(&self, object: &FileId, size: u64, body: S) -> Result<ObjectInfo>
    where
        S: Stream<Item = std::result::Result<Bytes, E>>,
        E: std::fmt::Display,
    {
        self.refuse_if_closed(object.as_str())?;
        let tmp = self.root.join("tmp").join(random_token(16));
        let mut file = tokio::fs::File::create(&tmp).await?;
        let mut crc = 0;
        let (written, outcome) = pump(&mut file, body, &CancellationToken::new(), 0, size, &mut crc, |_, _| None).await;
        let result = async {
            outcome?;
            if written != size {
                return Err(Error::SizeMismatch { declared: size, stored: written });
            }
            file.sync_all().await?;
            let info = ObjectInfo { size, crc32c: Crc32c(crc), generation: None };
            self.publish(&tmp, object.as_str(), info).await?;
            Ok(info)
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        result
    }

    /// Starts a resumable session; returns its id (128 random bits, the
    /// capability to write to it).
    pub async fn start_session(&self, object: &FileId, size: u64, content_type: &str) -> Result<String> {
        self.refuse_if_closed(object.as_str())?;
        let id = random_token(24);
        tokio::fs::File::create(self.session_path(&id, "part")).await?;
        let state = SessionState {
            object: object.as_str().to_owned(),
            size,
            content_type: content_type.to_owned(),
            offset: 0,
            crc: 0,
            created_at: Timestamp::now().as_millisecond(),
        };
        self.save_session(&id, &state).await?;
        Ok(id)
    }

    async fn progress_of(&self, s: &SessionState) -> Result<Progress> {
        if s.offset == s.size {
            if let Some(info) = self.stat_object(&s.object).await? {
                return Ok(Progress::Complete(info));
            }
        }
        Ok(Progress::Partial(s.offset))
    }

    /// Where the session stands. Asking means the client thinks its last
    /// request is over, so that request is stopped and its bytes counted.
    pub async fn session_status(&self, id: &str) -> Result<Progress> {
        let _claim = self.claim(id).await?;
        let s = self.load_session(id).await?;
        self.progress_of(&s).await
    }

    /// Appends one chunk. A chunk that starts before the stored offset has
    /// its known part skipped (a client may resend after a cut); one that
    /// starts after it is refused, since bytes would be missing.
    pub async fn write_chunk<S, E>(&self, id: &str, range: ChunkRange, body: S) -> Result<Progress>
    where
        S: Stream<Item = std::result::Result<Bytes, E>>,
        E: std::fmt::Display,
    {
        let claim = self.claim(id).await?;
        let mut s = self.load_session(id).await?;
        if let Some(total) = range.total {
            if total != s.size {
                return Err(Error::InvalidRange(format!("this session is for {} bytes, not {total}", s.size)));
            }
        }
        if range.last >= s.size {
            return Err(Error::InvalidRange(format!(
                "byte {} is past the end of a {}-byte upload",
                range.last, s.size
            )));
        }
        if s.offset == s.size {
            return self.progress_of(&s).await;
        }
        self.refuse_if_closed(&s.object)?;
        if range.first > s.offset {
            return Err(Error::InvalidRange(format!(
                "the chunk starts at byte {} but only {} bytes are stored; ask for the session's status and resend from there",
                range.first, s.offset
            )));
        }
        let part = self.session_path(id, "part");
        let mut file = tokio::fs::OpenOptions::new().write(true).open(&part).await?;
        // Whatever lies past the recorded offset was never acknowledged.
        file.set_len(s.offset).await?;
        file.seek(std::io::SeekFrom::Start(s.offset)).await?;

        let skip = s.offset - range.first;
        let max = range.last + 1 - s.offset;
        let mut crc = s.crc;
        let base = s.offset;
        let checkpoint = {
            let state = s.clone();
            let path = self.session_path(id, "json");
            move |written: u64, crc: u32| {
                let snapshot = SessionState { offset: base + written, crc, ..state.clone() };
                let path = path.clone();
                Some(tokio::spawn(async move {
                    if let Ok(raw) = serde_json::to_vec(&snapshot) {
                        let _ = write_atomic(&path, &raw).await;
                    }
                }))
            }
        };
        let (written, outcome) = pump(&mut file, body, &claim.superseded, skip, max, &mut crc, checkpoint).await;
        s.offset += written;
        s.crc = crc;
        file.sync_data().await?;
        drop(file);
        if s.offset == s.size && outcome.is_ok() {
            let info = ObjectInfo { size: s.size, crc32c: Crc32c(s.crc), generation: None };
            if let Err(e) = self.publish(&part, &s.object, info).await {
                // The name closed while the bytes arrived: the session is over.
                self.remove_session(id).await;
                return Err(e);
            }
            self.save_session(id, &s).await?;
            return Ok(Progress::Complete(info));
        }
        self.save_session(id, &s).await?;
        outcome?;
        let expected = range.last + 1 - range.first.max(base);
        if written < expected {
            return Err(Error::InvalidRange(format!(
                "Content-Range promised {expected} more bytes but the body had {written}"
            )));
        }
        Ok(Progress::Partial(s.offset))
    }

    pub async fn cancel_session(&self, id: &str) -> Result<()> {
        let _claim = self.claim(id).await?;
        self.load_session(id).await?;
        self.remove_session(id).await;
        Ok(())
    }

    async fn remove_session(&self, id: &str) {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
        let _ = tokio::fs::remove_file(self.session_path(id, "part")).await;
        let _ = tokio::fs::remove_file(self.session_path(id, "json")).await;
    }

    async fn stat_object(&self, object: &str) -> Result<Option<ObjectInfo>> {
        #[derive(Deserialize)]
        struct Meta {
            size: u64,
            crc32c: u32,
        }
        match tokio::fs::read(self.meta_path(object)).await {
            Ok(raw) => {
                let m: Meta = serde_json::from_slice(&raw).map_err(Error::internal)?;
                Ok(Some(ObjectInfo { size: m.size, crc32c: Crc32c(m.crc32c), generation: None }))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The object's bytes and what they are, for a download.
    pub async fn open_object(&self, object: &FileId) -> Result<Option<(tokio::fs::File, ObjectInfo)>> {
        let Some(info) = self.stat_object(object.as_str()).await? else { return Ok(None) };
        match tokio::fs::File::open(self.object_path(object.as_str())).await {
            Ok(f) => Ok(Some((f, info))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Sessions of `object`, or all sessions started before `before`.
    async fn sessions_where(&self, pred: impl Fn(&SessionState) -> bool) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut dir = tokio::fs::read_dir(self.root.join("sessions")).await?;
        while let Some(entry) = dir.next_entry().await? {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(id) = name.strip_suffix(".json") else { continue };
            if let Ok(s) = self.load_session(id).await {
                if pred(&s) {
                    out.push(id.to_owned());
                }
            }
        }
        Ok(out)
    }

    /// Removes sessions started before `before` (their pending file records
    /// are swept by the service). Returns how many.
    async fn sweep_old_sessions(&self, before: Timestamp) -> Result<u64> {
        let cutoff = before.as_millisecond();
        let ids = self.sessions_where(|s| s.created_at < cutoff).await?;
        for id in &ids {
            self.remove_session(id).await;
        }
        Ok(ids.len() as u64)
    }

    /// Removes the object's bytes and meta, and lays a tombstone if asked,
    /// in one step under the names lock.
    fn remove_object(&self, object: &str, tombstone: bool) -> Result<()> {
        let _names = self.names.lock().unwrap_or_else(|p| p.into_inner());
        if tombstone {
            std::fs::write(self.tomb_path(object), Timestamp::now().as_millisecond().to_string())?;
        }
        for path in [self.meta_path(object), self.object_path(object)] {
            match std::fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}

#[async_trait]
impl BlobStore for DiskBlobs {
    fn sign_put(&self, object: &FileId, size: u64, _ct: &ContentType, expires: Timestamp) -> Result<UploadTarget> {
        let url = self.signer.sign("PUT", &format!("/blob/{object}"), &[("size", size.to_string())], expires);
        Ok(UploadTarget { method: "PUT", url, headers: vec![], resumable: false })
    }

    fn sign_resumable_start(
        &self,
        object: &FileId,
        size: u64,
        content_type: &ContentType,
        expires: Timestamp,
    ) -> Result<UploadTarget> {
        let url = self.signer.sign(
            "POST",
            &format!("/blob/{object}"),
            &[("size", size.to_string()), ("type", content_type.as_str().to_owned())],
            expires,
        );
        Ok(UploadTarget {
            method: "POST",
            url,
            headers: vec![("x-goog-resumable".into(), "start".into())],
            resumable: true,
        })
    }

    fn sign_get(
        &self,
        object: &FileId,
        _generation: Option<i64>,
        name: &FileName,
        content_type: &ContentType,
        disposition: Disposition,
        expires: Timestamp,
    ) -> Result<String> {
        let disposition = super::content_disposition(disposition, name);
        Ok(self.signer.sign(
            "GET",
            &format!("/blob/{object}"),
            &[("disposition", disposition), ("type", content_type.as_str().to_owned())],
            expires,
        ))
    }

    async fn stat(&self, object: &FileId) -> Result<Option<ObjectInfo>> {
        self.stat_object(object.as_str()).await
    }

    async fn seal(&self, object: &FileId) -> Result<()> {
        for id in self.sessions_where(|s| s.object == object.as_str()).await? {
            let _claim = self.claim(&id).await;
            self.remove_session(&id).await;
        }
        Ok(())
    }

    async fn discard(&self, object: &FileId) -> Result<()> {
        self.remove_object(object.as_str(), false)
    }

    async fn delete(&self, object: &FileId) -> Result<()> {
        self.remove_object(object.as_str(), true)?;
        self.seal(object).await?;
        sync_dir(&self.root.join("objects")).await
    }

    async fn remove_tombstone(&self, object: &FileId) -> Result<()> {
        let _names = self.names.lock().unwrap_or_else(|p| p.into_inner());
        match std::fs::remove_file(self.tomb_path(object.as_str())) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// One page holds the whole folder: the sweep reads it once per run.
    async fn list_objects(&self, _after: Option<String>) -> Result<ObjectPage> {
        let mut found: std::collections::BTreeMap<String, StoredObject> = Default::default();
        let mut dir = tokio::fs::read_dir(self.root.join("objects")).await?;
        while let Some(entry) = dir.next_entry().await? {
            let name = entry.file_name().to_string_lossy().into_owned();
            let (id, tombstone) = match name.rsplit_once('.') {
                Some((id, "tomb")) => (id, true),
                Some((id, "meta")) => (id, false),
                // Bytes whose meta never arrived (a crash) count as an object.
                None => (name.as_str(), false),
                Some(_) => continue,
            };
            let Ok(object) = FileId::parse(id) else { continue };
            let modified = entry.metadata().await?.modified()?;
            let written_at = Timestamp::try_from(modified).unwrap_or(Timestamp::UNIX_EPOCH);
            let e = found.entry(id.to_owned()).or_insert(StoredObject { object, tombstone, written_at });
            // A tombstone beside leftover bytes: the tombstone is what counts.
            e.tombstone |= tombstone;
            e.written_at = e.written_at.max(written_at);
        }
        Ok(ObjectPage { objects: found.into_values().collect(), next: None })
    }

    async fn sweep_sessions(&self, before: Timestamp) -> Result<u64> {
        self.sweep_old_sessions(before).await
    }

    /// Deleting a file removes its sessions with it.
    fn session_lifetime(&self) -> jiff::SignedDuration {
        jiff::SignedDuration::ZERO
    }
}

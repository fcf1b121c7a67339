//! The use cases: everything livedrop does, whatever serves it.
//!
//! Handlers parse requests and call one method here; this layer checks who
//! may do what, writes through the `MetadataStore`, signs through the
//! `BlobStore`, records activity and publishes live changes. It knows
//! neither HTTP nor SQLite nor Firestore.

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use tokio::sync::RwLock;

use crate::blob::{BlobStore, Disposition, UploadTarget};
use crate::config::Config;
use crate::domain::*;
use crate::error::{Error, Result};
use crate::feed::{Change, ChangeKind, ChangeSink, Collection};
use crate::identity::Addresses;
use crate::mail::{Postman, letters};
use crate::ratelimit::RateLimiter;
use crate::store::{FileGuard, FileQuery, MailPreferences, MetadataStore, Page, Scope, SortKey, Within};

mod archive;
mod folders;
mod links;
pub use archive::{ARCHIVE_PAGE, ArchiveEntry, ArchivePage, MAX_SELECTION, Selection};
pub use folders::{FolderChange, FolderView};
pub use links::{LinkArchivePage, LinkListing, LinkView, NewLink, PublicLink};

/// Now, to the millisecond that every store keeps.
pub fn now() -> Timestamp {
    Timestamp::from_millisecond(Timestamp::now().as_millisecond()).unwrap_or(Timestamp::UNIX_EPOCH)
}

pub struct Service {
    pub store: Arc<dyn MetadataStore>,
    pub blobs: Arc<dyn BlobStore>,
    pub feed: Arc<dyn ChangeSink>,
    pub config: Config,
    /// Who has proved their address: only they receive what is shared
    /// with it.
    addresses: Arc<dyn Addresses>,
    /// `None` when no SMTP is configured: nothing is mailed, and the owner
    /// is handed each invitation's link instead.
    postman: Option<Arc<Postman>>,
    /// What each person asked to be told by mail.
    preferences: Option<Arc<dyn MailPreferences>>,
    /// Writers hold it shared from their store write to their publish; a
    /// snapshot holds it alone, so that a snapshot and its sequence number
    /// agree exactly (no change both in the snapshot and after it).
    gate: RwLock<()>,
    link_passwords: RateLimiter,
}

/// What the client asks to upload.
pub struct NewUpload {
    pub name: FileName,
    /// Where it goes; `None`: the top.
    pub folder: Option<FolderId>,
    pub on_conflict: OnConflict,
    pub size: u64,
    pub content_type: ContentType,
    pub crc32c: Crc32c,
}

/// A change to a file's name or place; `None` keeps what it is.
#[derive(Debug, Default)]
pub struct FileChange {
    pub name: Option<FileName>,
    /// `Some(None)`: to the top.
    pub folder: Option<Option<FolderId>>,
}

#[derive(Debug, Serialize)]
pub struct Share {
    pub email: Email,
    pub user_id: Option<UserId>,
    /// No account has proved this address yet: the share waits for one to.
    pub pending: bool,
    /// For an invitation when this server sends no mail: the link (a path
    /// in the app) for the owner to pass on; whoever opens it while signed
    /// in with the address proves it, and receives what was shared with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invite_url: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct FileDetails {
    pub file: FileRecord,
    /// Only for the owner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shares: Option<Vec<Share>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub links: Option<Vec<LinkView>>,
}

#[derive(Debug, Serialize)]
pub struct SignedUrl {
    pub url: String,
    pub expires_at: Timestamp,
}

/// What a live connection starts from.
#[derive(Debug, Serialize)]
pub struct Snapshot {
    pub files: Vec<FileRecord>,
    pub folders: Vec<Folder>,
    /// Folders shared with the person themselves (not those inside them).
    pub shared_folders: Vec<Folder>,
    pub shared: Vec<FileRecord>,
    pub activity: Vec<Activity>,
}

/// Wrong passwords a link takes per window, from everyone together.
pub const LINK_PASSWORD_ATTEMPTS: u32 = 10;
pub const LINK_PASSWORD_WINDOW: Duration = Duration::from_secs(300);

/// What one reconcile sweep removed (`Service::sweep`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// Pending uploads past their age, record and bytes.
    pub pending_files: u64,
    /// Objects that no record owned.
    pub orphan_objects: u64,
    /// Unfinished upload sessions past their lifetime.
    pub sessions: u64,
}

/// An unfinished resumable session's leftovers are kept this long, as GCS
/// keeps a session.
pub const SESSION_LEFTOVER_TTL: SignedDuration = SignedDuration::from_hours(24 * 7);

/// Most rows a snapshot carries per collection.
pub const SNAPSHOT_LIMIT: u64 = 1000;
pub const ACTIVITY_LIMIT: u64 = 200;

fn doc<T: Serialize>(v: &T) -> Option<serde_json::Value> {
    serde_json::to_value(v).ok()
}

impl Service {
    pub fn new(
        store: Arc<dyn MetadataStore>,
        blobs: Arc<dyn BlobStore>,
        feed: Arc<dyn ChangeSink>,
        addresses: Arc<dyn Addresses>,
        config: Config,
    ) -> Self {
        Self {
            store,
            blobs,
            feed,
            config,
            addresses,
            postman: None,
            preferences: None,
            gate: RwLock::new(()),
            link_passwords: RateLimiter::new(LINK_PASSWORD_ATTEMPTS, LINK_PASSWORD_WINDOW),
        }
    }

    /// Counts link password attempts in `attempts` instead of this
    /// process's memory: in the cloud, where many instances serve one link.
    pub fn with_attempts(mut self, attempts: Arc<dyn crate::ratelimit::Attempts>) -> Self {
        self.link_passwords = RateLimiter::counted_in(attempts, LINK_PASSWORD_ATTEMPTS, LINK_PASSWORD_WINDOW);
        self
    }

    /// Sends letters through `postman`.
    pub fn with_mail(mut self, postman: Arc<Postman>) -> Self {
        self.postman = Some(postman);
        self
    }

    /// Keeps each person's mail preferences in `preferences`.
    pub fn with_preferences(mut self, preferences: Arc<dyn MailPreferences>) -> Self {
        self.preferences = Some(preferences);
        self
    }

    fn preferences(&self) -> Result<&Arc<dyn MailPreferences>> {
        self.preferences.as_ref().ok_or(Error::NotSupported)
    }

    /// Whether `user` is told by mail of their files' downloads.
    pub async fn download_notices(&self, user: &User) -> Result<bool> {
        self.preferences()?.download_notices(&user.id).await
    }

    pub async fn set_download_notices(&self, user: &User, on: bool) -> Result<()> {
        self.preferences()?.set_download_notices(&user.id, on).await
    }

    /// Tells the owner of `f` that it was downloaded, by `by` (or through a
    /// link), if they asked to be told and this server sends mail. Never
    /// fails the download.
    async fn notice_download(&self, f: &FileRecord, by: Option<&User>) {
        let (Some(p), Some(prefs)) = (&self.postman, &self.preferences) else { return };
        if by.is_some_and(|u| u.id == f.owner_id) {
            return;
        }
        match prefs.download_notices(&f.owner_id).await {
            Ok(true) => {
                let url = p.link(&format!("/file/?id={}", f.id));
                p.post(letters::downloaded(&f.owner_email, f.name.as_str(), by.map(|u| &u.email), &url)).await;
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(target: "livedrop::mail", error = %e, "reading mail preferences failed"),
        }
    }

    pub fn postman(&self) -> Option<&Arc<Postman>> {
        self.postman.as_ref()
    }

    // ----- access -----

    /// The file if `user` owns it; someone else's file is "not found", so
    /// that ids cannot be probed.
    async fn owned(&self, user: &User, id: &FileId) -> Result<FileRecord> {
        match self.store.file(id).await? {
            Some(f) if f.owner_id == user.id => Ok(f),
            _ => Err(Error::not_found("file")),
        }
    }

    /// The ready file if `user` owns it or it was shared with them.
    async fn readable(&self, user: &User, id: &FileId) -> Result<FileRecord> {
        let (f, readers) = self.store.file_and_readers(id).await?.ok_or(Error::not_found("file"))?;
        self.may_read_within(user, f, &readers).await
    }

    /// `may_read`, or else whether `f` is in a folder shared with `user`
    /// (that folder or one above it): one more read, only then. Those who
    /// see a folder see an upload into it while it is in progress, as they
    /// watch it arrive (its bytes only once it is ready, as everyone).
    async fn may_read_within(&self, user: &User, f: FileRecord, readers: &[UserId]) -> Result<FileRecord> {
        let direct = f.owner_id == user.id || (f.status == FileStatus::Ready && readers.contains(&user.id));
        if direct {
            return Ok(f);
        }
        if let Some(d) = &f.folder_id {
            if self.store.viewers(d).await?.contains(&user.id) {
                return Ok(f);
            }
        }
        Err(Error::not_found("file"))
    }

    fn ready(f: &FileRecord) -> Result<()> {
        if f.status != FileStatus::Ready {
            return Err(Error::FileNotReady);
        }
        Ok(())
    }

    // ----- live changes -----

    /// The file as its owner and each reader see it change.
    fn file_changes(f: &FileRecord, kind: ChangeKind, readers: &[UserId]) -> Vec<Change> {
        let d = if kind == ChangeKind::Removed { None } else { doc(f) };
        let mut out = vec![Change {
            user: f.owner_id.clone(),
            collection: Collection::Files,
            kind,
            id: f.id.to_string(),
            doc: d.clone(),
        }];
        out.extend(readers.iter().map(|r| Change {
            user: r.clone(),
            collection: Collection::Shared,
            kind,
            id: f.id.to_string(),
            doc: d.clone(),
        }));
        out
    }

    /// An activity record of `f` (as it is after the change), for the store
    /// to write with the change.
    fn new_activity(
        f: &FileRecord,
        kind: ActivityKind,
        actor: Option<&User>,
        link: Option<&LinkId>,
        detail: Option<String>,
    ) -> Activity {
        Activity {
            id: ActivityId::generate(),
            owner_id: f.owner_id.clone(),
            file_id: Some(f.id.clone()),
            folder_id: None,
            file_name: f.name.as_str().to_owned(),
            kind,
            actor_id: actor.map(|u| u.id.clone()),
            actor_email: actor.map(|u| u.email.clone()),
            link_id: link.cloned(),
            detail,
            at: now(),
        }
    }

    /// The rule for changing who may read a file: the owner's alone (anyone
    /// else's is not found), and, with `ready`, only once it is uploaded.
    fn owner_only(user: &User, ready: bool) -> FileGuard {
        let owner = user.id.clone();
        Box::new(move |f| {
            if f.owner_id != owner {
                return Err(Error::not_found("file"));
            }
            if ready { Self::ready(f) } else { Ok(()) }
        })
    }

    /// An activity record of a file, made by the store from the file as it
    /// reads it; the same record each time (see `link_activity`).
    fn file_activity(
        kind: ActivityKind,
        actor: &User,
        detail: Option<String>,
    ) -> impl Fn(&FileRecord) -> Activity + Clone + Send + Sync + 'static {
        let (id, at, actor) = (ActivityId::generate(), now(), actor.clone());
        move |f| Activity { id: id.clone(), at, ..Self::new_activity(f, kind, Some(&actor), None, detail.clone()) }
    }

    /// The owner's feed hears of a written activity record.
    fn activity_change(a: &Activity) -> Change {
        Change {
            user: a.owner_id.clone(),
            collection: Collection::Activity,
            kind: ChangeKind::Added,
            id: a.id.to_string(),
            doc: doc(a),
        }
    }

    /// Writes an activity record on its own, for events that change
    /// nothing else (a download).
    async fn record(
        &self,
        f: &FileRecord,
        kind: ActivityKind,
        actor: Option<&User>,
        link: Option<&LinkId>,
        detail: Option<String>,
    ) -> Result<Change> {
        let a = Self::new_activity(f, kind, actor, link, detail);
        self.store.append_activity(&a).await?;
        Ok(Self::activity_change(&a))
    }

    /// Who besides the owner is told about a change to the file.
    /// Everyone it is shared with, itself or through its folder.
    async fn reader_ids(&self, file: &FileRecord) -> Result<Vec<UserId>> {
        if !self.feed.delivers() {
            return Ok(vec![]);
        }
        let ids: Vec<UserId> = self.store.readers(&file.id).await?.into_iter().map(|u| u.id).collect();
        self.with_viewers(file, ids).await
    }

    /// `readers` (the file's own, as a delete returned them) and, where
    /// the feed delivers, those who see its folder.
    async fn with_viewers(&self, f: &FileRecord, mut readers: Vec<UserId>) -> Result<Vec<UserId>> {
        if let (Some(d), true) = (&f.folder_id, self.feed.delivers()) {
            readers.extend(self.store.viewers(d).await?);
            readers.sort();
            readers.dedup();
        }
        Ok(readers)
    }

    /// A person's collections as they are now, and the feed number they
    /// correspond to (read while no write is between store and feed).
    pub async fn snapshot<T>(&self, user: &User, subscribe: impl FnOnce() -> T) -> Result<(T, Snapshot)> {
        let _alone = self.gate.write().await;
        let sub = subscribe();
        let page = |scope| FileQuery {
            user: user.id.clone(),
            scope,
            within: Within::Anywhere,
            // Uploads in progress too: the feed tells of them.
            uploading: scope == Scope::Mine,
            sort: SortKey::Updated,
            descending: true,
            offset: 0,
            limit: SNAPSHOT_LIMIT,
        };
        let files = self.store.list_files(&page(Scope::Mine)).await?.items;
        let shared = self.store.list_files(&page(Scope::SharedWithMe)).await?.items;
        let activity = self.store.activity(&user.id, None, ACTIVITY_LIMIT).await?;
        let folders = self.all_folders(user).await?;
        let shared_folders = self.store.folders_shared_with(&user.id).await?;
        Ok((sub, Snapshot { files, folders, shared_folders, shared, activity }))
    }

    // ----- uploads -----

    pub async fn begin_upload(&self, user: &User, new: NewUpload) -> Result<(FileRecord, UploadTarget)> {
        if new.size > self.config.max_file_size {
            return Err(Error::FileTooLarge { size: new.size, max: self.config.max_file_size });
        }
        let at = now();
        let file = FileRecord {
            folder_id: new.folder,
            on_conflict: new.on_conflict,
            ..crate::store::pending_file(user, new.name, new.size, new.content_type, new.crc32c, at)
        };
        let target = self.upload_target(&file)?;
        let _w = self.gate.read().await;
        self.store.insert_pending_file(&file, self.config.quota_bytes).await?;
        // The owner's other screens, and whoever sees the folder, watch it
        // arrive (a new file has no shares of its own).
        self.feed.publish(Self::file_changes(&file, ChangeKind::Added, &self.with_viewers(&file, vec![]).await?));
        Ok((file, target))
    }

    /// The uploader tells how many bytes of a pending upload are stored, so
    /// that those watching its folder see it progress. A smaller number
    /// than the last one changes nothing; more than the size is refused.
    pub async fn report_progress(&self, user: &User, id: &FileId, received: u64) -> Result<FileRecord> {
        let mut f = self.owned(user, id).await?;
        if f.status != FileStatus::Pending {
            return Err(Error::NotPending);
        }
        if received > f.size {
            return Err(Error::InvalidRequest(format!(
                "received is {received} bytes, more than the file's size ({} bytes)",
                f.size
            )));
        }
        if received <= f.received {
            return Ok(f);
        }
        let _w = self.gate.read().await;
        self.store.raise_received(id, received).await?;
        f.received = received;
        self.feed.publish(Self::file_changes(&f, ChangeKind::Modified, &self.reader_ids(&f).await?));
        Ok(f)
    }

    fn upload_target(&self, file: &FileRecord) -> Result<UploadTarget> {
        let expires = now() + self.config.upload_url_ttl;
        if file.size > self.config.resumable_threshold {
            self.blobs.sign_resumable_start(&file.id, file.size, &file.content_type, expires)
        } else {
            self.blobs.sign_put(&file.id, file.size, &file.content_type, expires)
        }
    }

    /// Checks the stored bytes against what was declared, and only then
    /// makes the file ready: the moment everyone sees it.
    pub async fn complete_upload(&self, user: &User, id: &FileId) -> Result<FileRecord> {
        let f = self.owned(user, id).await?;
        if f.status != FileStatus::Pending {
            return Err(Error::NotPending);
        }
        let Some(info) = self.blobs.stat(id).await? else {
            return Err(Error::UploadIncomplete("no bytes have been stored for this file yet".into()));
        };
        // Bytes that are not what was declared go (where the store cannot
        // bound a size in advance, this is where a larger object ends), and
        // the upload stays pending so that the right bytes can still come.
        let refused = if info.size != f.size {
            Some(Error::SizeMismatch { declared: f.size, stored: info.size })
        } else if info.crc32c != f.crc32c {
            Some(Error::ChecksumMismatch { declared: f.crc32c.encode(), stored: info.crc32c.encode() })
        } else {
            None
        };
        if let Some(e) = refused {
            self.blobs.discard(id).await?;
            return Err(e);
        }
        // Uploaded into a folder: its name, so that the log can say
        // "added 24 files to Trip" (nothing for the top, as before).
        let into = match &f.folder_id {
            Some(id) => self.owned_folder(user, id).await.ok().map(|d| d.name.as_str().to_owned()),
            None => None,
        };
        let _w = self.gate.read().await;
        let a = Self::file_activity(ActivityKind::Uploaded, user, into);
        let done = self.store.mark_ready(&f, now(), info.generation, Some(Box::new(a.clone()))).await?;
        let ready = done.file;
        // Only a resumable upload has sessions to end (see `upload_target`).
        if ready.size > self.config.resumable_threshold {
            self.blobs.seal(id).await?;
        }
        let mut changes = Self::file_changes(&ready, ChangeKind::Added, &self.reader_ids(&ready).await?);
        changes.push(Self::activity_change(&a(&ready)));
        if let Some((old, readers)) = done.replaced {
            // Its record went in the same transaction; the bytes follow.
            self.blobs.delete(&old.id).await?;
            changes.extend(Self::file_changes(&old, ChangeKind::Removed, &readers));
        }
        self.feed.publish(changes);
        Ok(ready)
    }

    /// Abandons a pending upload: its record and whatever bytes arrived.
    /// The record goes first, and only if it is still pending when its
    /// transaction reads it: an upload completing meanwhile stays.
    pub async fn abort_upload(&self, user: &User, id: &FileId) -> Result<()> {
        let f = self.owned(user, id).await?;
        if f.status != FileStatus::Pending {
            return Err(Error::NotPending);
        }
        let owner = user.id.clone();
        let guard: FileGuard = Box::new(move |f| {
            if f.owner_id != owner {
                Err(Error::not_found("file"))
            } else if f.status != FileStatus::Pending {
                Err(Error::NotPending)
            } else {
                Ok(())
            }
        });
        let _w = self.gate.read().await;
        if let Some((f, readers)) = self.store.delete_file(id, Some(guard), None).await? {
            let readers = self.with_viewers(&f, readers).await?;
            self.feed.publish(Self::file_changes(&f, ChangeKind::Removed, &readers));
        }
        self.blobs.delete(id).await
    }

    /// The reconcile sweep: brings the store of bytes and the store of
    /// records back into agreement. It removes
    ///
    /// - pending uploads older than `pending_ttl`, record and bytes (the
    ///   record is re-checked in its own transaction: one that completed
    ///   meanwhile stays, whole);
    /// - objects that no record owns (a crash between deleting a record and
    ///   its bytes), leaving a tombstone in their place;
    /// - tombstones that have outlived every URL and session that could
    ///   write their name;
    /// - what unfinished upload sessions left behind after their lifetime.
    ///
    /// Running it twice, or on two servers at once, removes nothing more.
    pub async fn sweep(&self) -> Result<SweepReport> {
        let mut report = SweepReport::default();
        let at = now();
        let before = at - self.config.pending_ttl;
        loop {
            let stale = self.store.pending_before(before, 500).await?;
            let mut removed = 0;
            for f in &stale {
                let guard: FileGuard = Box::new(move |f| {
                    if f.status == FileStatus::Pending && f.created_at < before {
                        Ok(())
                    } else {
                        Err(Error::NotPending)
                    }
                });
                let _w = self.gate.read().await;
                match self.store.delete_file(&f.id, Some(guard), None).await {
                    Ok(Some((f, readers))) => {
                        let readers = self.with_viewers(&f, readers).await?;
                        self.feed.publish(Self::file_changes(&f, ChangeKind::Removed, &readers));
                        self.blobs.delete(&f.id).await?;
                        removed += 1;
                    }
                    Ok(None) | Err(Error::NotPending) => {}
                    Err(e) => return Err(e),
                }
            }
            report.pending_files += removed;
            // A full page that removed nothing would come back the same.
            if (stale.len() as u64) < 500 || removed == 0 {
                break;
            }
        }
        let tombstone_ttl = self.config.upload_url_ttl + self.blobs.session_lifetime();
        let mut page = self.blobs.list_objects(None).await?;
        loop {
            for o in &page.objects {
                if o.tombstone {
                    if o.written_at < at - tombstone_ttl {
                        self.blobs.remove_tombstone(&o.object).await?;
                    }
                } else if self.store.file(&o.object).await?.is_none() {
                    // Records come before their bytes and go before them, so
                    // bytes without a record are never going to have one.
                    self.blobs.delete(&o.object).await?;
                    report.orphan_objects += 1;
                }
            }
            let Some(next) = page.next.take() else { break };
            page = self.blobs.list_objects(Some(next)).await?;
        }
        report.sessions = self.blobs.sweep_sessions(at - SESSION_LEFTOVER_TTL).await?;
        Ok(report)
    }

    // ----- files -----

    /// A page of files: `user`'s own (everywhere, at the top, or in one of
    /// their folders), those shared with them, or those in a folder shared
    /// with them (listed as its owner's).
    pub async fn list(&self, user: &User, mut q: FileQuery) -> Result<Page<FileRecord>> {
        debug_assert_eq!(q.user, user.id);
        if let Within::Folder(d) = &q.within {
            let folder = self.visible_folder(user, d).await?;
            q = FileQuery { user: folder.owner_id, scope: Scope::Mine, ..q };
        }
        self.store.list_files(&q).await
    }

    /// The file, and for its owner who it is shared with and its links.
    pub async fn details(&self, user: &User, id: &FileId) -> Result<FileDetails> {
        // One read for everyone: the sharing answers who may see the file.
        let (file, sharing) = self.store.file_with_sharing(id).await?.ok_or(Error::not_found("file"))?;
        let readers: Vec<UserId> = sharing.readers.iter().map(|u| u.id.clone()).collect();
        let file = self.may_read_within(user, file, &readers).await?;
        if file.owner_id != user.id {
            return Ok(FileDetails { file, shares: None, links: None });
        }
        let people = sharing.readers.into_iter().map(|u| Share {
            email: u.email,
            user_id: Some(u.id),
            pending: false,
            invite_url: None,
        });
        let waiting = sharing.invitations.into_iter().map(|email| Share {
            email,
            user_id: None,
            pending: true,
            invite_url: None,
        });
        let links = sharing.links.iter().map(LinkView::from).collect();
        Ok(FileDetails { file, shares: Some(people.chain(waiting).collect()), links: Some(links) })
    }

    /// Renames and/or moves one of the owner's files.
    pub async fn update_file(&self, user: &User, id: &FileId, change: FileChange) -> Result<FileRecord> {
        let f = self.owned(user, id).await?;
        let name = change.name.unwrap_or_else(|| f.name.clone());
        let folder = change.folder.unwrap_or_else(|| f.folder_id.clone());
        let renamed = name != f.name;
        let moved = folder != f.folder_id;
        if !renamed && !moved {
            return Ok(f);
        }
        let detail = if renamed {
            Some(f.name.as_str().to_owned())
        } else {
            Some(self.folder_label(user, folder.as_ref()).await?)
        };
        let _w = self.gate.read().await;
        let kind = if renamed { ActivityKind::Renamed } else { ActivityKind::Moved };
        let a = Self::file_activity(kind, user, detail);
        let placed = self.store.place_file(&f, &name, folder.as_ref(), now(), Some(Box::new(a.clone()))).await?;
        // Who could see it before and who can now: a move out of a shared
        // folder takes it from those it leaves. An upload in progress too:
        // the folder's viewers watch it arrive.
        let before = self.reader_ids(&f).await?;
        let after = self.reader_ids(&placed).await?;
        let gone: Vec<UserId> = before.iter().filter(|u| !after.contains(u)).cloned().collect();
        let came: Vec<UserId> = after.iter().filter(|u| !before.contains(u)).cloned().collect();
        let stayed: Vec<UserId> = after.iter().filter(|u| before.contains(u)).cloned().collect();
        let mut changes = Self::file_changes(&placed, ChangeKind::Modified, &stayed);
        changes.extend(Self::file_changes(&placed, ChangeKind::Removed, &gone).into_iter().skip(1));
        changes.extend(Self::file_changes(&placed, ChangeKind::Added, &came).into_iter().skip(1));
        changes.push(Self::activity_change(&a(&placed)));
        self.feed.publish(changes);
        Ok(placed)
    }

    /// Deletes the file: its record, shares, invitations, links and bytes.
    pub async fn delete(&self, user: &User, id: &FileId) -> Result<()> {
        let f = self.owned(user, id).await?;
        let _w = self.gate.read().await;
        let a = Self::new_activity(&f, ActivityKind::Deleted, Some(user), None, None);
        let Some((f, readers)) = self.store.delete_file(id, None, Some(a.clone())).await? else {
            return Err(Error::not_found("file"));
        };
        let readers = self.with_viewers(&f, readers).await?;
        // The record goes first: from now on no one can get a URL for the
        // bytes, and a failure below leaves only unreachable bytes behind.
        self.blobs.delete(id).await?;
        let mut changes = Self::file_changes(&f, ChangeKind::Removed, &readers);
        changes.push(Self::activity_change(&a));
        self.feed.publish(changes);
        Ok(())
    }

    /// A short-lived URL for the bytes. A download is recorded; so is a
    /// preview (`inline`) by someone the file is shared with, as a view. The
    /// owner looking at their own file is not news to anyone.
    pub async fn download(&self, user: &User, id: &FileId, inline: bool) -> Result<SignedUrl> {
        let f = self.readable(user, id).await?;
        Self::ready(&f)?;
        let url = self.sign_get(&f, inline)?;
        let kind = match (inline, f.owner_id == user.id) {
            (false, _) => ActivityKind::Downloaded,
            (true, false) => ActivityKind::Viewed,
            (true, true) => return Ok(url),
        };
        let _w = self.gate.read().await;
        let c = self.record(&f, kind, Some(user), None, None).await?;
        self.feed.publish(vec![c]);
        if kind == ActivityKind::Downloaded {
            self.notice_download(&f, Some(user)).await;
        }
        Ok(url)
    }

    fn sign_get(&self, f: &FileRecord, inline: bool) -> Result<SignedUrl> {
        let disposition =
            if inline && f.content_type.is_safe_inline() { Disposition::Inline } else { Disposition::Attachment };
        let expires_at = now() + self.config.download_url_ttl;
        let url = self.blobs.sign_get(&f.id, f.generation, &f.name, &f.content_type, disposition, expires_at)?;
        Ok(SignedUrl { url, expires_at })
    }

    pub async fn activity(&self, user: &User, file: Option<&FileId>, limit: u64) -> Result<Vec<Activity>> {
        if let Some(id) = file {
            self.owned(user, id).await?;
        }
        self.store.activity(&user.id, file, limit).await
    }

    // ----- sharing -----

    /// Shares the file with `email`. A person who has proved the address is
    /// theirs gets it at once; otherwise it waits as an invitation, which the
    /// account that proves the address claims (`welcome`). Signing up under
    /// an address proves nothing, so it claims nothing.
    pub async fn share(&self, user: &User, id: &FileId, email: Email) -> Result<Share> {
        if email == user.email {
            return Err(Error::InvalidEmail("you own this file already".into()));
        }
        let _w = self.gate.read().await;
        let at = now();
        // Whose file it is, and whether it is ready, is checked by the store
        // as it makes the change: one read of the file, not two.
        let record = Self::file_activity(ActivityKind::Shared, user, Some(email.to_string()));
        let guard = || Self::owner_only(user, true);
        let share = match self.proved_account(&email).await? {
            Some(to) => {
                let shared =
                    self.store.add_share(id, &to.id, at, Some(guard()), Some(Box::new(record.clone()))).await?;
                if let Some(f) = shared {
                    let mut changes = Self::file_changes(&f, ChangeKind::Added, std::slice::from_ref(&to.id));
                    changes.remove(0); // the owner's copy did not change
                    changes.push(Self::activity_change(&record(&f)));
                    self.feed.publish(changes);
                    if let Some(p) = &self.postman {
                        let url = p.link(&format!("/file/?id={}", f.id));
                        p.post(letters::shared(&email, &user.email, f.name.as_str(), &url)).await;
                    }
                }
                Share { email, user_id: Some(to.id), pending: false, invite_url: None }
            }
            None => {
                let invited =
                    self.store.add_invitation(id, &email, at, Some(guard()), Some(Box::new(record.clone()))).await?;
                // The store has checked the file is the owner's (the guard)
                // whether or not the invitation is new.
                let path = if self.postman.is_none() || invited.is_some() {
                    self.invitation_path(&email).await?
                } else {
                    String::new()
                };
                let mut invite_url = None;
                match (&self.postman, invited) {
                    (Some(p), Some(f)) => {
                        self.feed.publish(vec![Self::activity_change(&record(&f))]);
                        p.post(letters::invited(&email, &user.email, f.name.as_str(), &p.link(&path))).await;
                    }
                    // Mailed once; sharing again does not mail again.
                    (Some(_), None) => {}
                    // No mail: the owner passes the link on, and may ask again.
                    (None, invited) => {
                        if let Some(f) = invited {
                            self.feed.publish(vec![Self::activity_change(&record(&f))]);
                        }
                        invite_url = Some(path);
                    }
                }
                Share { email, user_id: None, pending: true, invite_url }
            }
        };
        Ok(share)
    }

    /// The account that has proved `email` is theirs, if there is one: only
    /// it receives what is shared with the address.
    async fn proved_account(&self, email: &Email) -> Result<Option<User>> {
        Ok(match self.store.user_by_email(email).await? {
            Some(to) if self.addresses.verified(&to).await? => Some(to),
            _ => None,
        })
    }

    /// Where in the app an invitation to `email` leads: a link that proves
    /// the address (self-hosted), or sign-up (the cloud).
    async fn invitation_path(&self, email: &Email) -> Result<String> {
        Ok(match self.addresses.invitation_token(email).await? {
            Some(token) => format!("/verify/?token={token}"),
            None => "/signup/".to_owned(),
        })
    }

    pub async fn unshare(&self, user: &User, id: &FileId, email: Email) -> Result<()> {
        let _w = self.gate.read().await;
        let to = self.store.user_by_email(&email).await?;
        let record = Self::file_activity(ActivityKind::Unshared, user, Some(email.to_string()));
        let guard = Self::owner_only(user, false);
        let unshared = self
            .store
            .unshare(id, to.as_ref().map(|u| &u.id), &email, Some(guard), Some(Box::new(record.clone())))
            .await?
            .ok_or(Error::not_found("share"))?;
        let mut changes = vec![];
        if let (Some(u), true) = (to, unshared.reader) {
            changes.push(Change {
                user: u.id,
                collection: Collection::Shared,
                kind: ChangeKind::Removed,
                id: unshared.file.id.to_string(),
                doc: None,
            });
        }
        changes.push(Self::activity_change(&record(&unshared.file)));
        self.feed.publish(changes);
        Ok(())
    }

    /// Whether `user` has proved their address is theirs.
    pub async fn address_verified(&self, user: &User) -> Result<bool> {
        self.addresses.verified(user).await
    }

    /// Turns invitations for a person's address into shares, once they have
    /// proved the address is theirs.
    pub async fn welcome(&self, user: &User) -> Result<()> {
        if !self.addresses.verified(user).await? {
            return Ok(());
        }
        let _w = self.gate.read().await;
        let files = self.store.claim_invitations(user, now()).await?;
        let folders = self.store.claim_folder_invitations(user, now()).await?;
        let mut changes = vec![];
        for id in folders {
            if let Some(f) = self.store.folder(&id).await? {
                changes.push(Self::shared_folder_change(&f, &user.id, ChangeKind::Added));
            }
        }
        for id in files {
            if let Some(f) = self.store.file(&id).await? {
                changes.extend(
                    Self::file_changes(&f, ChangeKind::Added, std::slice::from_ref(&user.id)).into_iter().skip(1),
                );
            }
        }
        self.feed.publish(changes);
        Ok(())
    }
}

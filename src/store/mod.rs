//! The metadata store: files, people, shares, links and activity.
//!
//! One trait, two implementations (SQLite here, Firestore in cloud mode),
//! one contract suite (`tests/contract/store.rs`) that both must pass. Every method that
//! must be atomic for correctness (quota at upload, a link's download count,
//! completing an upload, deleting a file with its shares and links) is one
//! method, so each backend can make it one transaction.

pub mod sqlite;

use async_trait::async_trait;
use jiff::Timestamp;

use crate::domain::{Activity, Crc32c, Email, FileId, FileName, FileRecord, Link, LinkId, User, UserId};
use crate::error::{LinkRefusal, Result};

/// Which list of files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Mine,
    SharedWithMe,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Name,
    Size,
    Created,
    Updated,
}

/// A page of a sorted file list. Ready files only: a pending upload is
/// nobody's file yet.
#[derive(Debug, Clone)]
pub struct FileQuery {
    pub user: UserId,
    pub scope: Scope,
    pub sort: SortKey,
    pub descending: bool,
    pub offset: u64,
    pub limit: u64,
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Offset of the next page, if there is one.
    pub next_offset: Option<u64>,
}

/// Who a file is shared with and how: people with accounts (by address),
/// invitations waiting for an account, and public links, each sorted as
/// `readers`, `invitations` and `links_for_file` sort them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sharing {
    pub readers: Vec<User>,
    pub invitations: Vec<Email>,
    pub links: Vec<Link>,
}

/// The service's rule for a change to a file, asked by the store with the
/// file as the change reads it (so that the check and the change agree):
/// an error refuses the change.
pub type FileGuard = Box<dyn Fn(&FileRecord) -> Result<()> + Send + Sync>;

/// The activity record of a change to a file, made from the file as the
/// change reads it.
pub type FileActivity = Box<dyn Fn(&FileRecord) -> Activity + Send + Sync>;

/// What `unshare` took back.
#[derive(Debug, Clone, PartialEq)]
pub struct Unshared {
    pub file: FileRecord,
    /// The person's access (not only an invitation) was removed.
    pub reader: bool,
}

/// The activity record of a change to a link, made from the link and its
/// file as the store's transaction reads them.
pub type LinkActivity = Box<dyn Fn(&Link, &FileRecord) -> Activity + Send + Sync>;

/// Where people, files, shares, links and activity are kept.
///
/// A change that the activity log records takes its `Activity` along and
/// writes it in the same transaction, and only if the change happens: no
/// record of what did not happen, no change without its record, and (in
/// the cloud) no extra round trip.
/// What each person has asked livedrop to tell them by mail.
#[async_trait]
pub trait MailPreferences: Send + Sync + 'static {
    /// Whether `user` gets a letter when someone downloads one of their
    /// files (off unless they turn it on).
    async fn download_notices(&self, user: &UserId) -> Result<bool>;
    async fn set_download_notices(&self, user: &UserId, on: bool) -> Result<()>;
}

#[async_trait]
pub trait MetadataStore: Send + Sync + 'static {
    /// Creates a person; `Error::EmailTaken` if the address has one already.
    async fn create_user(&self, user: &User) -> Result<()>;
    /// Creates or updates a person's profile (cloud: kept from ID tokens,
    /// whose provider is the authority on addresses). If another profile
    /// holds the address (an account deleted and made again, an address
    /// moved), the address moves to `user`, and the other profile keeps
    /// `Email::moved_away` of its id.
    async fn upsert_user(&self, user: &User) -> Result<()>;
    async fn user_by_id(&self, id: &UserId) -> Result<Option<User>>;
    async fn user_by_email(&self, email: &Email) -> Result<Option<User>>;

    /// Inserts a pending file if the owner's pending and ready files plus
    /// this one stay within `quota` bytes; `Error::QuotaExceeded` if not.
    async fn insert_pending_file(&self, file: &FileRecord, quota: u64) -> Result<()>;
    async fn file(&self, id: &FileId) -> Result<Option<FileRecord>>;
    /// The file and the people it is shared with: what deciding who may
    /// read it needs, in one read.
    async fn file_and_readers(&self, id: &FileId) -> Result<Option<(FileRecord, Vec<UserId>)>>;
    /// The file and everything about its sharing, as its owner sees it on
    /// the file's page (in the cloud: two reads, whatever the counts).
    async fn file_with_sharing(&self, id: &FileId) -> Result<Option<(FileRecord, Sharing)>>;
    /// Pending → ready, only from pending (`Error::NotPending` otherwise),
    /// keeping the generation of the object that completion verified.
    async fn mark_ready(
        &self,
        id: &FileId,
        at: Timestamp,
        generation: Option<i64>,
        activity: Option<Activity>,
    ) -> Result<FileRecord>;
    async fn rename_file(
        &self,
        id: &FileId,
        name: &FileName,
        at: Timestamp,
        activity: Option<Activity>,
    ) -> Result<FileRecord>;
    /// Deletes the record with its shares, invitations and links, if
    /// `guard` lets it as the transaction reads the file; returns what was
    /// deleted and who could read it, `None` if there was no such file.
    async fn delete_file(
        &self,
        id: &FileId,
        guard: Option<FileGuard>,
        activity: Option<Activity>,
    ) -> Result<Option<(FileRecord, Vec<UserId>)>>;
    async fn list_files(&self, query: &FileQuery) -> Result<Page<FileRecord>>;
    /// Bytes counted against the owner's quota (pending and ready).
    async fn usage(&self, owner: &UserId) -> Result<u64>;
    /// Pending files created before `before`, for the sweeper.
    async fn pending_before(&self, before: Timestamp, limit: u64) -> Result<Vec<FileRecord>>;

    /// Shares the file with a person. Returns the file if this shared it;
    /// `None` (and no activity) if it was shared with them already.
    async fn add_share(
        &self,
        file: &FileId,
        user: &UserId,
        at: Timestamp,
        guard: Option<FileGuard>,
        activity: Option<FileActivity>,
    ) -> Result<Option<FileRecord>>;
    /// Takes back what `email` (and `user`, its account, if there is one)
    /// was given: the share and any invitation, together. `None` (and no
    /// activity) if there was neither.
    async fn unshare(
        &self,
        file: &FileId,
        user: Option<&UserId>,
        email: &Email,
        guard: Option<FileGuard>,
        activity: Option<FileActivity>,
    ) -> Result<Option<Unshared>>;
    async fn readers(&self, file: &FileId) -> Result<Vec<User>>;
    /// A share waiting for an address with no account yet. Returns the
    /// file if this made it; `None` (and no activity) if there is one
    /// already.
    async fn add_invitation(
        &self,
        file: &FileId,
        email: &Email,
        at: Timestamp,
        guard: Option<FileGuard>,
        activity: Option<FileActivity>,
    ) -> Result<Option<FileRecord>>;
    async fn invitations(&self, file: &FileId) -> Result<Vec<Email>>;
    /// Turns every invitation for `user.email` into a share, atomically.
    async fn claim_invitations(&self, user: &User, at: Timestamp) -> Result<Vec<FileId>>;

    async fn insert_link(&self, link: &Link, activity: Option<Activity>) -> Result<()>;
    async fn link(&self, id: &LinkId) -> Result<Option<Link>>;
    async fn link_by_token_hash(&self, token_hash: &str) -> Result<Option<Link>>;
    async fn links_for_file(&self, file: &FileId) -> Result<Vec<Link>>;
    /// Revokes `link` (as read before: its id and file). Returns its file,
    /// read in the same transaction, if this call revoked it; `None` (and no
    /// activity) if it was revoked already.
    async fn revoke_link(&self, link: &Link, activity: Option<LinkActivity>) -> Result<Option<FileRecord>>;
    /// Counts one download through `link` (as read before: its id and file)
    /// if it is not revoked, expired or exhausted at `now` and its file is
    /// there, atomically: two racing downloads of a limit-1 link give
    /// exactly one `Ok`. Returns the counted link and its file, read in the
    /// same transaction; `activity` describes the counted download.
    async fn count_link_download(
        &self,
        link: &Link,
        now: Timestamp,
        activity: Option<LinkActivity>,
    ) -> Result<Result<(Link, FileRecord), LinkRefusal>>;

    async fn append_activity(&self, activity: &Activity) -> Result<()>;
    /// Newest first.
    async fn activity(&self, owner: &UserId, file: Option<&FileId>, limit: u64) -> Result<Vec<Activity>>;
}

/// Used by `FileRecord` builders in tests and the service.
pub fn pending_file(
    owner: &User,
    name: FileName,
    size: u64,
    content_type: crate::domain::ContentType,
    crc32c: Crc32c,
    at: Timestamp,
) -> FileRecord {
    FileRecord {
        id: FileId::generate(),
        owner_id: owner.id.clone(),
        owner_email: owner.email.clone(),
        name,
        size,
        content_type,
        crc32c,
        status: crate::domain::FileStatus::Pending,
        created_at: at,
        updated_at: at,
        generation: None,
    }
}

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

use crate::domain::{
    Activity, ActivityId, Crc32c, Email, FileId, FileName, FileRecord, Folder, FolderId, Link, LinkId, User, UserId,
};
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

/// Where in the owner's folders a list looks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Within {
    /// Every folder (the live feed's snapshot of one's own files).
    Anywhere,
    /// The top: files in no folder.
    Top,
    /// Directly in this folder.
    Folder(FolderId),
}

/// A page of a sorted file list: ready files, and with `uploading` the
/// uploads in progress as well (what a folder's viewers watch arrive).
#[derive(Debug, Clone)]
pub struct FileQuery {
    pub user: UserId,
    pub scope: Scope,
    /// For `Scope::Mine`; files shared with someone are listed wherever
    /// they are.
    pub within: Within,
    /// Pending files too, in the same order as the ready ones.
    pub uploading: bool,
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

/// What a link opens, as a store's transaction reads it with the link.
#[derive(Debug, Clone, PartialEq)]
pub enum Linked {
    File(FileRecord),
    Folder(Folder),
}

/// The activity record of a change to a link, made from the link and what
/// it opens as the store's transaction reads them.
pub type LinkActivity = Box<dyn Fn(&Link, &Linked) -> Activity + Send + Sync>;

/// What completing an upload did.
#[derive(Debug, Clone, PartialEq)]
pub struct Completed {
    /// The ready file, under the name it got (see `OnConflict`).
    pub file: FileRecord,
    /// The file it replaced, deleted in the same transaction, and who
    /// could read it: its bytes are the caller's to delete.
    pub replaced: Option<(FileRecord, Vec<UserId>)>,
}

/// What deleting a folder took with it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeletedTree {
    /// The folder and every folder inside it, outermost first.
    pub folders: Vec<Folder>,
    /// Every file in them (pending ones too), and who could read each: the
    /// bytes are the caller's to delete.
    pub files: Vec<(FileRecord, Vec<UserId>)>,
}

/// A name in a folder: a folder or a ready file.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    Folder(Folder),
    File(FileRecord),
}

/// The deepest a folder may be: its place counted from the top (a folder
/// at the top is at depth 1). Past the path lengths desktops unpack.
pub const MAX_FOLDER_DEPTH: usize = 32;

/// Folders: where files are, one owner's tree. A name is unique within a
/// folder among its folders and ready files, case-insensitively
/// (`FileName::key`); each method that could break that checks it in the
/// transaction that writes (`Error::NameTaken`).
#[async_trait]
pub trait FolderStore: Send + Sync + 'static {
    /// Creates `folder` in its parent, which must be the same owner's
    /// (`not_found` otherwise) and not at `MAX_FOLDER_DEPTH`.
    async fn create_folder(&self, folder: &Folder) -> Result<()>;
    async fn folder(&self, id: &FolderId) -> Result<Option<Folder>>;
    /// The folder and every folder above it, the top first.
    async fn folder_path(&self, id: &FolderId) -> Result<Vec<Folder>>;
    /// Up to `limit` of the owner's folders, wherever they are (the live
    /// feed's snapshot).
    async fn folders_of(&self, owner: &UserId, limit: u64) -> Result<Vec<Folder>>;
    /// The owner's folders directly in `parent` (`None`: the top), by name.
    async fn folders_in(&self, owner: &UserId, parent: Option<&FolderId>) -> Result<Vec<Folder>>;
    /// Every folder inside `folder` (as read before: its id and owner),
    /// however deep, not itself; in no order.
    async fn folders_below(&self, folder: &Folder) -> Result<Vec<Folder>>;
    /// The owner's ready files directly in any of `folders`, in no order:
    /// a tree's files, a few dozen folders a round trip.
    async fn ready_files_in(&self, owner: &UserId, folders: &[FolderId]) -> Result<Vec<FileRecord>>;
    /// What has `name` directly in `parent`, to name things by path.
    async fn entry_named(&self, owner: &UserId, parent: Option<&FolderId>, name: &FileName) -> Result<Option<Entry>>;
    /// Renames and/or moves a folder (as read before: its id and owner).
    /// Refuses (`Error::InvalidMove`) a move into itself or below it, or
    /// one that would take a folder inside it past `MAX_FOLDER_DEPTH`.
    async fn place_folder(
        &self,
        folder: &Folder,
        name: &FileName,
        parent: Option<&FolderId>,
        at: Timestamp,
    ) -> Result<Folder>;
    /// Deletes the folder (as read before: its id and owner) with every
    /// folder and file in it, their shares, invitations and links, in one
    /// transaction where the backend has them; `None` if it was gone.
    async fn delete_folder(&self, folder: &Folder) -> Result<Option<DeletedTree>>;
}

/// Sharing folders. A folder is shared with people (and waits for
/// addresses without an account, as invitations) like a file; whoever a
/// folder is shared with sees everything in it, folders inside included:
/// access to anything is its own shares plus those of every folder above
/// it (`viewers`).
#[async_trait]
pub trait FolderSharing: Send + Sync + 'static {
    /// Shares `folder` (as read before: its id and owner) with `user`;
    /// `false` if it was shared with them already. `not_found` if the
    /// folder is gone or not the owner's.
    async fn share_folder(&self, folder: &Folder, user: &UserId, at: Timestamp) -> Result<bool>;
    /// An invitation for an address with no proved account; `false` if
    /// there is one already.
    async fn invite_to_folder(&self, folder: &Folder, email: &Email, at: Timestamp) -> Result<bool>;
    /// Takes back what `email` (and `user`, its account) was given: the
    /// share and any invitation. `None` if there was neither, else whether
    /// a person's access (not only an invitation) went.
    async fn unshare_folder(&self, folder: &Folder, user: Option<&UserId>, email: &Email) -> Result<Option<bool>>;
    /// The folder's own shares (people, by address) and invitations.
    async fn folder_sharing(&self, folder: &FolderId) -> Result<(Vec<User>, Vec<Email>)>;
    /// Everyone who sees the folder: its own readers and those of every
    /// folder above it, by id.
    async fn viewers(&self, folder: &FolderId) -> Result<Vec<UserId>>;
    /// The folders shared with `user` themselves (the top of what they see
    /// shared with them), by name.
    async fn folders_shared_with(&self, user: &UserId) -> Result<Vec<Folder>>;
    /// Turns every folder invitation for `user.email` into a share.
    async fn claim_folder_invitations(&self, user: &User, at: Timestamp) -> Result<Vec<FolderId>>;
}

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
pub trait MetadataStore: FolderStore + FolderSharing {
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
    /// this one stay within `quota` bytes (`Error::QuotaExceeded` if not)
    /// and its folder is the owner's (`not_found` if not).
    async fn insert_pending_file(&self, file: &FileRecord, quota: u64) -> Result<()>;
    async fn file(&self, id: &FileId) -> Result<Option<FileRecord>>;
    /// Raises a pending file's `received` to `received` (never lowers it;
    /// a ready file is left as it is); `not_found` if there is no such file.
    async fn raise_received(&self, id: &FileId, received: u64) -> Result<()>;
    /// The file and the people it is shared with: what deciding who may
    /// read it needs, in one read.
    async fn file_and_readers(&self, id: &FileId) -> Result<Option<(FileRecord, Vec<UserId>)>>;
    /// The file and everything about its sharing, as its owner sees it on
    /// the file's page (in the cloud: two reads, whatever the counts).
    async fn file_with_sharing(&self, id: &FileId) -> Result<Option<(FileRecord, Sharing)>>;
    /// Pending → ready, only from pending (`Error::NotPending` otherwise),
    /// keeping the generation of the object that completion verified. If
    /// the file's name is taken in its folder by then, its `on_conflict`
    /// decides: the first free "name (n)", or the file that has it is
    /// deleted (a folder is never replaced: the name is numbered then).
    /// `activity` is made from the file as it becomes ready. `file` is the
    /// pending record as the caller read it: its id, and where its name
    /// probably is (the store checks, and looks again if it moved).
    async fn mark_ready(
        &self,
        file: &FileRecord,
        at: Timestamp,
        generation: Option<i64>,
        activity: Option<FileActivity>,
    ) -> Result<Completed>;
    /// Renames and/or moves a file (as read before: its id and owner) to
    /// `folder` (`None`: the top), which must be its owner's;
    /// `Error::NameTaken` if a ready file there has the name.
    async fn place_file(
        &self,
        file: &FileRecord,
        name: &FileName,
        folder: Option<&FolderId>,
        at: Timestamp,
        activity: Option<FileActivity>,
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
    /// Links made for the file, oldest first.
    async fn links_for_file(&self, file: &FileId) -> Result<Vec<Link>>;
    /// Links made for the folder itself, oldest first.
    async fn links_for_folder(&self, folder: &FolderId) -> Result<Vec<Link>>;
    /// Revokes `link` (as read before: its id and target). Returns what it
    /// opens, read in the same transaction, if this call revoked it; `None`
    /// (and no activity) if it was revoked already.
    async fn revoke_link(&self, link: &Link, activity: Option<LinkActivity>) -> Result<Option<Linked>>;
    /// Counts one download through `link` (as read before: its id and
    /// target) if it is not revoked, expired or exhausted at `now` and what
    /// it opens is there, atomically: two racing downloads of a limit-1
    /// link give exactly one `Ok`. Returns the counted link and what it
    /// opens, read in the same transaction; `activity` describes the
    /// counted download.
    async fn count_link_download(
        &self,
        link: &Link,
        now: Timestamp,
        activity: Option<LinkActivity>,
    ) -> Result<Result<(Link, Linked), LinkRefusal>>;

    async fn append_activity(&self, activity: &Activity) -> Result<()>;
    /// One record of anyone's log, by its id.
    async fn activity_record(&self, id: &ActivityId) -> Result<Option<Activity>>;
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
        folder_id: None,
        size,
        content_type,
        crc32c,
        status: crate::domain::FileStatus::Pending,
        received: 0,
        created_at: at,
        updated_at: at,
        generation: None,
        on_conflict: crate::domain::OnConflict::KeepBoth,
    }
}

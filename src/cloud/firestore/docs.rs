//! The Firestore documents: one struct per collection, field for field what
//! the web client's listeners and `firestore.rules` read. Ids, names and
//! e-mails are stored as plain strings and parsed again on the way out, so a
//! document edited by hand into something invalid is an internal error, not
//! a bad value loose in the service.
//!
//! | collection | document id | who may read it (firestore.rules) |
//! |---|---|---|
//! | `files` | file id | its owner and the users in `readers` |
//! | `links` | link id | the owner of the file |
//! | `invitations` | `{file id}.{sha256(e-mail)}` | the owner of the file |
//! | `activity` | activity id | the owner whose log it is |
//! | `users` | user id | that user |
//! | `usage` | user id | that user |
//! | `emails` | sha256(e-mail) | nobody (the API's unique index of addresses) |
//! | `file_refs` | file id | nobody (what to delete with the file) |
//! | `outbox` | random | nobody (letters waiting to be sent, `outbox.rs`) |
//! | `preferences` | user id | nobody (what the person is told by mail; the API reads it) |
//! | `folders` | folder id | its owner |
//! | `names` | sha256(owner, folder, name key) | nobody (the API's unique index of names in a folder) |
//! | `meta` | `schema` | nobody (how far the documents are upgraded, `upgrade.rs`) |

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::domain::*;
use crate::error::{Error, Result};

pub(crate) const FILES: &str = "files";
pub(crate) const LINKS: &str = "links";
pub(crate) const INVITATIONS: &str = "invitations";
pub(crate) const ACTIVITY: &str = "activity";
pub(crate) const USERS: &str = "users";
pub(crate) const USAGE: &str = "usage";
pub(crate) const EMAILS: &str = "emails";
pub(crate) const FILE_REFS: &str = "file_refs";
/// `attempts/{sha256(key)}`: a rate limit's window, shared by every
/// function instance (`crate::ratelimit::Attempts`).
pub(crate) const ATTEMPTS: &str = "attempts";
/// `outbox/{random id}`: letters waiting to be sent (`crate::mail`).
pub(crate) const OUTBOX: &str = "outbox";
/// `preferences/{user id}`: what a person is told by mail.
pub(crate) const PREFERENCES: &str = "preferences";
pub(crate) const FOLDERS: &str = "folders";
/// `names/{name_id(owner, folder, key)}`: who holds a name in a folder.
pub(crate) const NAMES: &str = "names";
pub(crate) const META: &str = "meta";
/// `folder_invitations/{folder id}.{sha256(email)}`: a folder shared with
/// an address that has no proved account yet.
pub(crate) const FOLDER_INVITATIONS: &str = "folder_invitations";

/// `folder_invitations/{id}`.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct FolderInvitationDoc {
    pub folder_id: String,
    pub owner_id: String,
    pub email: String,
    #[serde(with = "::firestore::serialize_as_timestamp")]
    pub created_at: Timestamp,
}

#[derive(Serialize)]
pub(crate) struct ViewersPatch<'a> {
    pub viewers: &'a [String],
}

/// The document id of a name in `names`: one per owner, folder ("" for the
/// top) and `FileName::key`. Hashed because a name may contain characters
/// a document id may not, and may be longer than one.
pub(crate) fn name_id(owner: &str, folder: &str, key: &str) -> String {
    sha256_hex(&format!("{owner}\n{folder}\n{key}"))
}

/// `names/{name_id}`: the folder or ready file that holds a name.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct NameDoc {
    /// `file` or `folder`.
    pub kind: String,
    pub id: String,
}

/// `folders/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct FolderDoc {
    pub id: String,
    pub owner_id: String,
    /// Since schema 2 (`upgrade`); "" in a folder written before.
    #[serde(default)]
    pub owner_email: String,
    pub name: String,
    pub name_key: String,
    /// The folder it is in, "" at the top: what listing a folder queries.
    pub parent: String,
    /// Every folder above it, the top first: finding a folder's subtree
    /// is one `array-contains` query, and a move's cycle check one read.
    #[serde(default)]
    pub ancestors: Vec<String>,
    /// Ids of the people the folder itself is shared with.
    #[serde(default)]
    pub readers: Vec<String>,
    /// Ids of everyone who sees it: its readers and those of every folder
    /// above it, kept by the commits that share, unshare and move. The
    /// rules let these people list what is in it.
    #[serde(default)]
    pub viewers: Vec<String>,
    /// Document ids of its invitations in `folder_invitations`, to delete
    /// with it.
    #[serde(default)]
    pub invitations: Vec<String>,
    /// Ids of the public links made for it, to delete with it. (Ids open
    /// nothing: a link is used by its token, and only its owner reads
    /// `links`.)
    #[serde(default)]
    pub links: Vec<String>,
    #[serde(with = "::firestore::serialize_as_timestamp")]
    pub created_at: Timestamp,
    #[serde(with = "::firestore::serialize_as_timestamp")]
    pub updated_at: Timestamp,
}

impl FolderDoc {
    /// A new folder: it sees what its parent's `viewers` see.
    pub fn from(f: &Folder, ancestors: Vec<String>, viewers: Vec<String>) -> Self {
        Self {
            readers: vec![],
            viewers,
            invitations: vec![],
            links: vec![],
            id: f.id.to_string(),
            owner_id: f.owner_id.to_string(),
            owner_email: f.owner_email.to_string(),
            name: f.name.as_str().to_owned(),
            name_key: f.name.key(),
            parent: f.parent.as_ref().map(|p| p.to_string()).unwrap_or_default(),
            ancestors,
            created_at: f.created_at,
            updated_at: f.updated_at,
        }
    }

    pub fn folder(&self) -> Result<Folder> {
        Ok(Folder {
            id: FolderId::parse(&self.id).map_err(|e| bad("folder id", e))?,
            owner_id: UserId::parse(&self.owner_id).map_err(|e| bad("owner id", e))?,
            owner_email: Email::parse(&self.owner_email).map_err(|e| bad("owner e-mail", e))?,
            name: FileName::parse(&self.name).map_err(|e| bad("folder name", e))?,
            parent: folder_ref(&self.parent)?,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// A stored folder reference: "" is the top.
pub(crate) fn folder_ref(s: &str) -> Result<Option<FolderId>> {
    if s.is_empty() { Ok(None) } else { FolderId::parse(s).map(Some).map_err(|e| bad("folder id", e)) }
}

/// The document id of an invitation: one per file and address.
/// The document id of an invitation: one per file (or folder, in
/// `folder_invitations`) and address.
pub(crate) fn invitation_id(of: &impl std::fmt::Display, email: &Email) -> String {
    format!("{of}.{}", sha256_hex(email.as_str()))
}

/// The document id of an address in `emails`. Hashed because an address may
/// contain `/`, which a document id may not.
pub(crate) fn email_key(email: &Email) -> String {
    sha256_hex(email.as_str())
}

fn bad(what: &str, e: impl std::fmt::Display) -> Error {
    Error::internal(format!("stored {what} does not parse: {e}"))
}

/// `users/{id}` and `emails/{sha256(email)}` hold the same two fields.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct UserDoc {
    pub id: String,
    pub email: String,
}

impl UserDoc {
    pub fn from(u: &User) -> Self {
        Self { id: u.id.to_string(), email: u.email.to_string() }
    }

    pub fn into_user(self) -> Result<User> {
        Ok(User {
            id: UserId::parse(&self.id).map_err(|e| bad("user id", e))?,
            email: Email::parse(&self.email).map_err(|e| bad("e-mail", e))?,
        })
    }
}

/// `usage/{user id}`: bytes of that user's pending and ready files, kept in
/// step with `files` by the same transactions, so the quota check reads one
/// document instead of summing a collection.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct UsageDoc {
    #[serde(default)]
    pub bytes: i64,
}

/// `files/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct FileDoc {
    pub id: String,
    pub owner_id: String,
    pub owner_email: String,
    pub name: String,
    /// The name lower-cased: what "sort by name" orders by, so that `a`
    /// and `B` sort as a person expects.
    pub name_key: String,
    pub size: i64,
    pub content_type: String,
    /// CRC32C as GCS writes it (base64 of 4 big-endian bytes).
    pub crc32c: String,
    /// `pending` or `ready`; clients list only ready files.
    pub status: String,
    #[serde(with = "::firestore::serialize_as_timestamp")]
    pub created_at: Timestamp,
    #[serde(with = "::firestore::serialize_as_timestamp")]
    pub updated_at: Timestamp,
    /// Ids of the people it is shared with: `array-contains` answers
    /// "shared with me", and the rules let exactly these people read it.
    #[serde(default)]
    pub readers: Vec<String>,
    /// The object generation completion verified (absent on documents
    /// written before it was kept, and on pending files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
    /// The folder it is in, "" at the top. Documents written before
    /// folders lack it until `upgrade` adds it.
    #[serde(default)]
    pub parent: String,
    /// Whether `names` has this file's name (ready files, except where an
    /// earlier release let one owner keep two files of one name).
    #[serde(default)]
    pub holds_name: bool,
    /// A pending upload's choice for a taken name (`OnConflict`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_conflict: Option<String>,
    /// Bytes stored so far, as the uploader reports them (raised by a
    /// `maximum` transform, so never lowered); `size` once ready. Documents
    /// written before it was kept lack it.
    #[serde(default)]
    pub received: i64,
}

impl FileDoc {
    pub fn from(f: &FileRecord, readers: Vec<String>) -> Self {
        Self {
            id: f.id.to_string(),
            owner_id: f.owner_id.to_string(),
            owner_email: f.owner_email.to_string(),
            name: f.name.as_str().to_owned(),
            name_key: f.name.as_str().to_lowercase(),
            size: f.size as i64,
            content_type: f.content_type.as_str().to_owned(),
            crc32c: f.crc32c.encode(),
            status: f.status.as_str().to_owned(),
            created_at: f.created_at,
            updated_at: f.updated_at,
            readers,
            generation: f.generation,
            parent: f.folder_id.as_ref().map(|d| d.to_string()).unwrap_or_default(),
            holds_name: f.status == FileStatus::Ready,
            on_conflict: (f.status == FileStatus::Pending).then(|| f.on_conflict.as_str().to_owned()),
            received: f.received as i64,
        }
    }

    /// Its document id in `names`.
    pub fn name_id(&self) -> String {
        name_id(&self.owner_id, &self.parent, &self.name_key)
    }

    pub fn record(&self) -> Result<FileRecord> {
        let size = u64::try_from(self.size).map_err(|e| bad("size", e))?;
        let status = match self.status.as_str() {
            "ready" => FileStatus::Ready,
            "pending" => FileStatus::Pending,
            other => return Err(bad("status", other)),
        };
        Ok(FileRecord {
            id: FileId::parse(&self.id).map_err(|e| bad("file id", e))?,
            owner_id: UserId::parse(&self.owner_id).map_err(|e| bad("owner id", e))?,
            owner_email: Email::parse(&self.owner_email).map_err(|e| bad("owner e-mail", e))?,
            name: FileName::parse(&self.name).map_err(|e| bad("file name", e))?,
            size,
            content_type: ContentType::parse(Some(&self.content_type)).map_err(|e| bad("content type", e))?,
            crc32c: Crc32c::parse(&self.crc32c).map_err(|e| bad("crc32c", e))?,
            status,
            received: match status {
                FileStatus::Ready => size,
                FileStatus::Pending => (self.received.max(0) as u64).min(size),
            },
            created_at: self.created_at,
            updated_at: self.updated_at,
            generation: self.generation,
            folder_id: folder_ref(&self.parent)?,
            on_conflict: self.on_conflict.as_deref().and_then(OnConflict::parse).unwrap_or_default(),
        })
    }

    pub fn reader_ids(&self) -> Vec<UserId> {
        self.readers.iter().filter_map(|r| UserId::parse(r).ok()).collect()
    }
}

/// `file_refs/{file id}`: the ids of a file's links and invitations, kept
/// by the commits that create and remove them, so that deleting the file
/// reads two documents instead of querying two collections. Server-only:
/// readers of the file have no business with its invitations.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct FileRefsDoc {
    #[serde(default)]
    pub links: Vec<String>,
    /// Document ids in `invitations`.
    #[serde(default)]
    pub invitations: Vec<String>,
}

/// The fields completing an upload touches.
#[derive(Serialize)]
pub(crate) struct ReadyPatch<'a> {
    pub status: &'a str,
    pub name: &'a str,
    pub name_key: &'a str,
    pub holds_name: bool,
    /// All of it: watchers of the upload see it complete.
    pub received: i64,
    #[serde(with = "::firestore::serialize_as_timestamp")]
    pub updated_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
}

/// The fields a rename or a move touches.
#[derive(Serialize)]
pub(crate) struct PlacePatch<'a> {
    pub name: &'a str,
    pub name_key: &'a str,
    pub parent: &'a str,
    pub holds_name: bool,
    #[serde(with = "::firestore::serialize_as_timestamp")]
    pub updated_at: Timestamp,
}

#[derive(Serialize)]
pub(crate) struct ReadersPatch<'a> {
    pub readers: &'a [String],
}

/// `invitations/{file id}.{sha256(email)}`: a share waiting for an address.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct InvitationDoc {
    pub file_id: String,
    /// The file's owner, so that the rules can let them list invitations.
    pub owner_id: String,
    pub email: String,
    #[serde(with = "::firestore::serialize_as_timestamp")]
    pub created_at: Timestamp,
}

/// `links/{link id}`. The token is never stored, only its SHA-256.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct LinkDoc {
    /// What it opens: one of the two, the other "" (a file link written
    /// before folders had links has no `folder_id`).
    pub file_id: String,
    #[serde(default)]
    pub folder_id: String,
    pub owner_id: String,
    pub token_hash: String,
    /// argon2id, present when the link has a password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "::firestore::serialize_as_optional_timestamp")]
    pub expires_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_downloads: Option<i64>,
    pub downloads: i64,
    pub revoked: bool,
    #[serde(with = "::firestore::serialize_as_timestamp")]
    pub created_at: Timestamp,
}

impl LinkDoc {
    pub fn from(l: &Link) -> Self {
        Self {
            file_id: match &l.target {
                LinkTarget::File(f) => f.to_string(),
                LinkTarget::Folder(_) => String::new(),
            },
            folder_id: match &l.target {
                LinkTarget::File(_) => String::new(),
                LinkTarget::Folder(d) => d.to_string(),
            },
            owner_id: l.owner_id.to_string(),
            token_hash: l.token_hash.clone(),
            password_hash: l.password_hash.clone(),
            expires_at: l.expires_at,
            max_downloads: l.max_downloads.map(|n| n as i64),
            downloads: l.downloads as i64,
            revoked: l.revoked,
            created_at: l.created_at,
        }
    }

    pub fn link(&self, id: &str) -> Result<Link> {
        Ok(Link {
            id: LinkId::parse(id).map_err(|e| bad("link id", e))?,
            target: if self.folder_id.is_empty() {
                LinkTarget::File(FileId::parse(&self.file_id).map_err(|e| bad("file id", e))?)
            } else {
                LinkTarget::Folder(FolderId::parse(&self.folder_id).map_err(|e| bad("folder id", e))?)
            },
            owner_id: UserId::parse(&self.owner_id).map_err(|e| bad("owner id", e))?,
            token_hash: self.token_hash.clone(),
            password_hash: self.password_hash.clone(),
            expires_at: self.expires_at,
            max_downloads: self.max_downloads.map(|n| n.max(0) as u64),
            downloads: self.downloads.max(0) as u64,
            revoked: self.revoked,
            created_at: self.created_at,
        })
    }
}

#[derive(Serialize)]
pub(crate) struct DownloadsPatch {
    pub downloads: i64,
}

#[derive(Serialize)]
pub(crate) struct RevokedPatch {
    pub revoked: bool,
}

/// `activity/{id}`. `logged_at` is the server's time of the write, set by
/// Firestore itself: the order of the log ("newest first"), also between
/// entries written within one millisecond or by different function instances.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ActivityDoc {
    pub owner_id: String,
    /// "" for what is done to a whole folder.
    pub file_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder_id: Option<String>,
    pub file_name: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(with = "::firestore::serialize_as_timestamp")]
    pub at: Timestamp,
}

impl ActivityDoc {
    pub fn from(a: &Activity) -> Self {
        Self {
            owner_id: a.owner_id.to_string(),
            file_id: a.file_id.as_ref().map(|f| f.to_string()).unwrap_or_default(),
            folder_id: a.folder_id.as_ref().map(|d| d.to_string()),
            file_name: a.file_name.clone(),
            kind: a.kind.as_str().to_owned(),
            actor_id: a.actor_id.as_ref().map(|u| u.to_string()),
            actor_email: a.actor_email.as_ref().map(|e| e.to_string()),
            link_id: a.link_id.as_ref().map(|l| l.to_string()),
            detail: a.detail.clone(),
            at: a.at,
        }
    }

    pub fn activity(&self, id: &str) -> Result<Activity> {
        Ok(Activity {
            id: ActivityId::parse(id).map_err(|e| bad("activity id", e))?,
            owner_id: UserId::parse(&self.owner_id).map_err(|e| bad("owner id", e))?,
            file_id: match self.file_id.as_str() {
                "" => None,
                id => Some(FileId::parse(id).map_err(|e| bad("file id", e))?),
            },
            folder_id: self.folder_id.as_deref().map(FolderId::parse).transpose().map_err(|e| bad("folder id", e))?,
            file_name: self.file_name.clone(),
            kind: ActivityKind::parse(&self.kind).ok_or_else(|| bad("activity kind", &self.kind))?,
            actor_id: self.actor_id.as_deref().map(UserId::parse).transpose().map_err(|e| bad("actor id", e))?,
            actor_email: self
                .actor_email
                .as_deref()
                .map(Email::parse)
                .transpose()
                .map_err(|e| bad("actor e-mail", e))?,
            link_id: self.link_id.as_deref().map(LinkId::parse).transpose().map_err(|e| bad("link id", e))?,
            detail: self.detail.clone(),
            at: self.at,
        })
    }
}

/// `attempts/{sha256(key)}`: one key's current window of attempts.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct AttemptsDoc {
    pub start_ms: i64,
    pub count: i64,
}

//! The self-hosted metadata store: one SQLite file in WAL mode.
//!
//! One writer connection (SQLite has one writer at a time anyway, and
//! `BEGIN IMMEDIATE` on it makes every multi-statement change atomic) and a
//! bounded pool of readers. All calls run on tokio's blocking pool.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use tokio::sync::Semaphore;

use super::{
    Completed, Entry, FileActivity, FileGuard, FileQuery, LinkActivity, Linked, MailPreferences, MetadataStore, Page,
    Scope, Sharing, SortKey, Unshared,
};
use crate::domain::*;
use crate::error::{Error, LinkRefusal, Result};

mod folders;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS files (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL,
    owner_email TEXT NOT NULL,
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    crc32c INTEGER NOT NULL,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
-- Lists sort by update time most often; the index serves that order.
DROP INDEX IF EXISTS files_owner;
CREATE INDEX IF NOT EXISTS files_by_owner ON files (owner_id, status, updated_at, id);
CREATE INDEX IF NOT EXISTS files_pending ON files (status, created_at);
CREATE TABLE IF NOT EXISTS shares (
    file_id TEXT NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (file_id, user_id)
);
CREATE INDEX IF NOT EXISTS shares_user ON shares (user_id);
CREATE TABLE IF NOT EXISTS invitations (
    file_id TEXT NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (file_id, email)
);
CREATE INDEX IF NOT EXISTS invitations_email ON invitations (email);
CREATE TABLE IF NOT EXISTS links (
    id TEXT PRIMARY KEY,
    file_id TEXT NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    owner_id TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    expires_at INTEGER,
    max_downloads INTEGER,
    downloads INTEGER NOT NULL DEFAULT 0,
    revoked INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS links_file ON links (file_id);
CREATE TABLE IF NOT EXISTS activity (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    owner_id TEXT NOT NULL,
    file_id TEXT NOT NULL,
    file_name TEXT NOT NULL,
    kind TEXT NOT NULL,
    actor_id TEXT,
    actor_email TEXT,
    link_id TEXT,
    detail TEXT,
    at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS activity_owner ON activity (owner_id, seq);
CREATE INDEX IF NOT EXISTS activity_file ON activity (file_id, seq);
-- Local accounts (self-hosted identity only).
CREATE TABLE IF NOT EXISTS passwords (
    user_id TEXT PRIMARY KEY REFERENCES users (id),
    hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS api_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER
);
CREATE INDEX IF NOT EXISTS api_tokens_user ON api_tokens (user_id);
";

/// Changes to `SCHEMA` since the first release, oldest first: step N takes
/// a database at `PRAGMA user_version` N to N + 1, in one transaction, when
/// the server starts. `SCHEMA` itself stays as the first release made it
/// (it only creates what is missing), so a data dir from any release
/// opens: append a step here, never edit one that has shipped.
const MIGRATIONS: &[Step] = &[
    // 1: the object generation that completing an upload verified.
    Step::Sql("ALTER TABLE files ADD COLUMN generation INTEGER;"),
    // 2: e-mail. Letters waiting to be sent (`mail::sqlite`); the addresses
    // people have proved they own, and the tokens that prove one
    // (`identity`); whether a person is told of their files' downloads.
    Step::Sql(
        "CREATE TABLE outbox (
        id TEXT PRIMARY KEY,
        recipient TEXT NOT NULL,
        subject TEXT NOT NULL,
        body TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_at INTEGER NOT NULL,
        last_error TEXT,
        created_at INTEGER NOT NULL
    );
    CREATE INDEX outbox_next ON outbox (next_at);
    CREATE TABLE verified_addresses (
        user_id TEXT PRIMARY KEY REFERENCES users (id),
        email TEXT NOT NULL,
        verified_at INTEGER NOT NULL
    );
    CREATE TABLE address_proofs (
        token_hash TEXT PRIMARY KEY,
        email TEXT NOT NULL,
        purpose TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
    );
    CREATE INDEX address_proofs_email ON address_proofs (email);
    ALTER TABLE users ADD COLUMN notify_downloads INTEGER NOT NULL DEFAULT 0;",
    ),
    // 3: API tokens that end by themselves.
    Step::Sql("ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER;"),
    // 4: folders. Every file so far is at the top. Names become unique
    // within a folder by `name_key` (`FileName::key`, which SQLite's
    // `lower` cannot compute, so Rust fills it in).
    Step::Sql(
        "CREATE TABLE folders (
        id TEXT PRIMARY KEY,
        owner_id TEXT NOT NULL,
        parent_id TEXT REFERENCES folders (id),
        name TEXT NOT NULL,
        name_key TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX folders_by_name ON folders (owner_id, ifnull(parent_id, ''), name_key);
    CREATE INDEX folders_by_parent ON folders (parent_id);
    ALTER TABLE files ADD COLUMN folder_id TEXT REFERENCES folders (id);
    ALTER TABLE files ADD COLUMN name_key TEXT;
    ALTER TABLE files ADD COLUMN on_conflict TEXT NOT NULL DEFAULT 'keep_both';
    CREATE INDEX files_in_folder ON files (owner_id, ifnull(folder_id, ''), status, updated_at, id);
    CREATE INDEX files_by_folder ON files (folder_id);
    CREATE TABLE folder_shares (
        folder_id TEXT NOT NULL REFERENCES folders (id) ON DELETE CASCADE,
        user_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (folder_id, user_id)
    );
    CREATE INDEX folder_shares_user ON folder_shares (user_id);
    CREATE TABLE folder_invitations (
        folder_id TEXT NOT NULL REFERENCES folders (id) ON DELETE CASCADE,
        email TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (folder_id, email)
    );
    CREATE INDEX folder_invitations_email ON folder_invitations (email);",
    ),
    Step::Rust(folders::fill_name_keys),
    // 5: activity about a whole folder. Its `file_id` is '' (the column is
    // NOT NULL since step 1, and rebuilding the table for it is not worth
    // the risk to the log).
    Step::Sql("ALTER TABLE activity ADD COLUMN folder_id TEXT;"),
    // 6: a folder keeps its owner's address, as a file does.
    Step::Sql(
        "ALTER TABLE folders ADD COLUMN owner_email TEXT NOT NULL DEFAULT '';
         UPDATE folders SET owner_email = ifnull((SELECT email FROM users WHERE users.id = folders.owner_id), '');",
    ),
    // 7: a link opens a file or a folder. `file_id` was NOT NULL, so the
    // table is made again (nothing refers to it); exactly one of the two
    // columns is set, and each goes with what it opens.
    Step::Sql(
        "CREATE TABLE links_v7 (
        id TEXT PRIMARY KEY,
        file_id TEXT REFERENCES files (id) ON DELETE CASCADE,
        folder_id TEXT REFERENCES folders (id) ON DELETE CASCADE,
        owner_id TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        password_hash TEXT,
        expires_at INTEGER,
        max_downloads INTEGER,
        downloads INTEGER NOT NULL DEFAULT 0,
        revoked INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        CHECK ((file_id IS NULL) != (folder_id IS NULL))
    );
    INSERT INTO links_v7 (id, file_id, owner_id, token_hash, password_hash, expires_at, max_downloads, downloads,
        revoked, created_at)
        SELECT id, file_id, owner_id, token_hash, password_hash, expires_at, max_downloads, downloads, revoked,
        created_at FROM links;
    DROP TABLE links;
    ALTER TABLE links_v7 RENAME TO links;
    CREATE INDEX links_file ON links (file_id);
    CREATE INDEX links_folder ON links (folder_id);",
    ),
    // 8: how far an upload in progress is, for those who watch it arrive.
    Step::Sql("ALTER TABLE files ADD COLUMN received INTEGER NOT NULL DEFAULT 0;"),
];

/// One step of `MIGRATIONS`.
enum Step {
    Sql(&'static str),
    /// For what SQL cannot compute; runs in the step's transaction.
    Rust(fn(&rusqlite::Transaction<'_>) -> Result<()>),
}

/// Brings the database up to the latest schema; refuses one that a newer
/// release wrote, which this one would misread.
fn migrate(conn: &mut Connection) -> Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let version = usize::try_from(version).unwrap_or(usize::MAX);
    if version > MIGRATIONS.len() {
        return Err(Error::internal(format!(
            "this data dir was written by a newer livedrop (schema version {version}; this one knows {}): \
             run that release or a later one",
            MIGRATIONS.len()
        )));
    }
    for (i, step) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        match step {
            Step::Sql(sql) => tx.execute_batch(sql)?,
            Step::Rust(f) => f(&tx)?,
        }
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "database schema migrated");
    }
    Ok(())
}

/// The connections to one SQLite database file, shared by the metadata
/// store and the local accounts.
pub struct Db {
    writer: Arc<Mutex<Connection>>,
    readers: Arc<Mutex<Vec<Connection>>>,
    reader_slots: Arc<Semaphore>,
}

fn open(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
    )?;
    Ok(conn)
}

impl Db {
    /// Opens (creating if needed) the database with `readers` read connections.
    pub fn open(path: &Path, readers: usize) -> Result<Arc<Db>> {
        let mut writer = open(path)?;
        writer.execute_batch(SCHEMA)?;
        migrate(&mut writer)?;
        let readers = (0..readers.max(1)).map(|_| open(path)).collect::<Result<Vec<_>>>()?;
        let slots = readers.len();
        Ok(Arc::new(Db {
            writer: Arc::new(Mutex::new(writer)),
            readers: Arc::new(Mutex::new(readers)),
            reader_slots: Arc::new(Semaphore::new(slots)),
        }))
    }

    /// Runs `f` in one immediate transaction on the writer.
    pub async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let writer = self.writer.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = writer.lock().unwrap_or_else(|p| p.into_inner());
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })
        .await
        .map_err(Error::internal)?
    }

    /// Runs `f` on one of the read connections.
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let _permit = self.reader_slots.clone().acquire_owned().await.map_err(Error::internal)?;
        let readers = self.readers.clone();
        tokio::task::spawn_blocking(move || {
            let conn = readers.lock().unwrap_or_else(|p| p.into_inner()).pop().expect("a permit guarantees a reader");
            let out = f(&conn);
            readers.lock().unwrap_or_else(|p| p.into_inner()).push(conn);
            out
        })
        .await
        .map_err(Error::internal)?
    }
}

pub(crate) fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

pub(crate) fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Reads a column that this program wrote; a value that no longer parses
/// means the database was edited by hand, which is an internal error.
fn parse_col<T>(r: Result<T>) -> rusqlite::Result<T> {
    r.map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(std::io::Error::other(e.to_string()))))
}

pub(crate) fn user_row(row: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: parse_col(UserId::parse(&row.get::<_, String>(0)?))?,
        email: parse_col(Email::parse(&row.get::<_, String>(1)?))?,
    })
}

const FILE_COLS: &str = "f.id, f.owner_id, f.owner_email, f.name, f.size, f.content_type, f.crc32c, f.status, f.created_at, f.updated_at, \
     f.generation, f.folder_id, f.on_conflict, f.received";

fn file_row(row: &Row<'_>) -> rusqlite::Result<FileRecord> {
    let status = if row.get::<_, String>(7)? == "ready" { FileStatus::Ready } else { FileStatus::Pending };
    let size = row.get::<_, i64>(4)? as u64;
    Ok(FileRecord {
        id: parse_col(FileId::parse(&row.get::<_, String>(0)?))?,
        owner_id: parse_col(UserId::parse(&row.get::<_, String>(1)?))?,
        owner_email: parse_col(Email::parse(&row.get::<_, String>(2)?))?,
        name: parse_col(FileName::parse(&row.get::<_, String>(3)?))?,
        size,
        content_type: parse_col(ContentType::parse(Some(&row.get::<_, String>(5)?)))?,
        crc32c: Crc32c(row.get::<_, i64>(6)? as u32),
        status,
        // Only a pending file's count is kept; a ready one has all of it.
        received: match status {
            FileStatus::Ready => size,
            FileStatus::Pending => (row.get::<_, i64>(13)?.max(0) as u64).min(size),
        },
        created_at: ts(row.get(8)?),
        updated_at: ts(row.get(9)?),
        generation: row.get(10)?,
        folder_id: row.get::<_, Option<String>>(11)?.map(|d| parse_col(FolderId::parse(&d))).transpose()?,
        on_conflict: OnConflict::parse(&row.get::<_, String>(12)?).unwrap_or_default(),
    })
}

const LINK_COLS: &str = "id, file_id, owner_id, token_hash, password_hash, expires_at, max_downloads, downloads, \
    revoked, created_at, folder_id";

fn link_row(row: &Row<'_>) -> rusqlite::Result<Link> {
    let target = match (opt_col(row, 1, FileId::parse)?, opt_col(row, 10, FolderId::parse)?) {
        (Some(f), _) => LinkTarget::File(f),
        (None, Some(d)) => LinkTarget::Folder(d),
        (None, None) => return parse_col(Err(Error::internal("a link that opens nothing"))),
    };
    Ok(Link {
        id: parse_col(LinkId::parse(&row.get::<_, String>(0)?))?,
        target,
        owner_id: parse_col(UserId::parse(&row.get::<_, String>(2)?))?,
        token_hash: row.get(3)?,
        password_hash: row.get(4)?,
        expires_at: row.get::<_, Option<i64>>(5)?.map(ts),
        max_downloads: row.get::<_, Option<i64>>(6)?.map(|n| n as u64),
        downloads: row.get::<_, i64>(7)? as u64,
        revoked: row.get::<_, i64>(8)? != 0,
        created_at: ts(row.get(9)?),
    })
}

/// An optional column holding an id or an address.
fn opt_col<T>(row: &Row<'_>, i: usize, parse: fn(&str) -> Result<T>) -> rusqlite::Result<Option<T>> {
    row.get::<_, Option<String>>(i)?.map(|s| parse_col(parse(&s))).transpose()
}

fn activity_row(row: &Row<'_>) -> rusqlite::Result<Activity> {
    let kind: String = row.get(4)?;
    Ok(Activity {
        id: parse_col(ActivityId::parse(&row.get::<_, String>(0)?))?,
        owner_id: parse_col(UserId::parse(&row.get::<_, String>(1)?))?,
        file_id: match row.get::<_, String>(2)? {
            none if none.is_empty() => None,
            id => Some(parse_col(FileId::parse(&id))?),
        },
        folder_id: opt_col(row, 10, FolderId::parse)?,
        file_name: row.get(3)?,
        kind: parse_col(ActivityKind::parse(&kind).ok_or_else(|| Error::internal(format!("activity kind {kind}"))))?,
        actor_id: opt_col(row, 5, UserId::parse)?,
        actor_email: opt_col(row, 6, Email::parse)?,
        link_id: opt_col(row, 7, LinkId::parse)?,
        detail: row.get(8)?,
        at: ts(row.get(9)?),
    })
}

fn get_file(conn: &Connection, id: &str) -> Result<Option<FileRecord>> {
    Ok(conn.query_row(&format!("SELECT {FILE_COLS} FROM files f WHERE f.id = ?1"), [id], file_row).optional()?)
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation)
}

pub struct SqliteStore {
    db: Arc<Db>,
}

impl SqliteStore {
    pub fn new(db: Arc<Db>) -> Self {
        Self { db }
    }
}

#[async_trait]
impl MailPreferences for SqliteStore {
    async fn download_notices(&self, user: &UserId) -> Result<bool> {
        let id = user.clone();
        let on: Option<bool> = self
            .db
            .read(move |c| {
                Ok(c.query_row("SELECT notify_downloads FROM users WHERE id = ?1", [id.as_str()], |r| r.get(0))
                    .optional()?)
            })
            .await?;
        Ok(on.unwrap_or(false))
    }

    async fn set_download_notices(&self, user: &UserId, on: bool) -> Result<()> {
        let id = user.clone();
        self.db
            .write(move |tx| {
                tx.execute("UPDATE users SET notify_downloads = ?2 WHERE id = ?1", params![id.as_str(), on])?;
                Ok(())
            })
            .await
    }
}

#[async_trait]
impl MetadataStore for SqliteStore {
    async fn create_user(&self, user: &User) -> Result<()> {
        let user = user.clone();
        self.db
            .write(move |tx| {
                match tx.execute(
                    "INSERT INTO users (id, email) VALUES (?1, ?2)",
                    params![user.id.as_str(), user.email.as_str()],
                ) {
                    Ok(_) => Ok(()),
                    Err(e) if is_unique_violation(&e) => Err(Error::EmailTaken),
                    Err(e) => Err(e.into()),
                }
            })
            .await
    }

    async fn upsert_user(&self, user: &User) -> Result<()> {
        let user = user.clone();
        self.db
            .write(move |tx| {
                if let Some(holder) = tx
                    .query_row("SELECT id FROM users WHERE email = ?1 AND id <> ?2", params![user.email.as_str(), user.id.as_str()], |r| {
                        r.get::<_, String>(0)
                    })
                    .optional()?
                {
                    let moved = Email::moved_away(&UserId::parse(&holder)?);
                    tx.execute("UPDATE users SET email = ?2 WHERE id = ?1", params![holder, moved.as_str()])?;
                }
                tx.execute(
                    "INSERT INTO users (id, email) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET email = excluded.email",
                    params![user.id.as_str(), user.email.as_str()],
                )?;
                Ok(())
            })
            .await
    }

    async fn user_by_id(&self, id: &UserId) -> Result<Option<User>> {
        let id = id.clone();
        self.db
            .read(move |c| {
                Ok(c.query_row("SELECT id, email FROM users WHERE id = ?1", [id.as_str()], user_row).optional()?)
            })
            .await
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<User>> {
        let email = email.clone();
        self.db
            .read(move |c| {
                Ok(c.query_row("SELECT id, email FROM users WHERE email = ?1", [email.as_str()], user_row)
                    .optional()?)
            })
            .await
    }

    async fn insert_pending_file(&self, file: &FileRecord, quota: u64) -> Result<()> {
        let f = file.clone();
        self.db
            .write(move |tx| {
                let used: i64 = tx.query_row(
                    "SELECT COALESCE(SUM(size), 0) FROM files WHERE owner_id = ?1",
                    [f.owner_id.as_str()],
                    |r| r.get(0),
                )?;
                let used = used as u64;
                if used.saturating_add(f.size) > quota {
                    return Err(Error::QuotaExceeded { size: f.size, used, quota });
                }
                if let Some(d) = &f.folder_id {
                    folders::owned_folder(tx, &f.owner_id, d)?;
                }
                tx.execute(
                    "INSERT INTO files (id, owner_id, owner_email, name, size, content_type, crc32c, status, created_at, updated_at,
                         folder_id, on_conflict)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                    params![
                        f.id.as_str(),
                        f.owner_id.as_str(),
                        f.owner_email.as_str(),
                        f.name.as_str(),
                        f.size as i64,
                        f.content_type.as_str(),
                        f.crc32c.0 as i64,
                        f.status.as_str(),
                        ms(f.created_at),
                        ms(f.updated_at),
                        f.folder_id.as_ref().map(|d| d.as_str()),
                        f.on_conflict.as_str()
                    ],
                )?;
                Ok(())
            })
            .await
    }

    async fn file(&self, id: &FileId) -> Result<Option<FileRecord>> {
        let id = id.clone();
        self.db.read(move |c| get_file(c, id.as_str())).await
    }

    async fn raise_received(&self, id: &FileId, received: u64) -> Result<()> {
        let id = id.clone();
        self.db
            .write(move |tx| {
                let changed = tx.execute(
                    "UPDATE files SET received = max(received, ?2) WHERE id = ?1 AND status = 'pending'",
                    params![id.as_str(), received as i64],
                )?;
                if changed == 0 && get_file(tx, id.as_str())?.is_none() {
                    return Err(Error::not_found("file"));
                }
                Ok(())
            })
            .await
    }

    async fn file_and_readers(&self, id: &FileId) -> Result<Option<(FileRecord, Vec<UserId>)>> {
        let id = id.clone();
        self.db
            .read(move |c| {
                let Some(file) = get_file(c, id.as_str())? else { return Ok(None) };
                Ok(Some((file, reader_ids_of(c, &id)?)))
            })
            .await
    }

    async fn file_with_sharing(&self, id: &FileId) -> Result<Option<(FileRecord, Sharing)>> {
        let id = id.clone();
        self.db
            .read(move |c| {
                let Some(file) = get_file(c, id.as_str())? else { return Ok(None) };
                let sharing = Sharing {
                    readers: readers_of(c, &id)?,
                    invitations: invitations_of(c, &id)?,
                    links: links_of(c, "file_id", id.as_str())?,
                };
                Ok(Some((file, sharing)))
            })
            .await
    }

    async fn mark_ready(
        &self,
        file: &FileRecord,
        at: Timestamp,
        generation: Option<i64>,
        activity: Option<FileActivity>,
    ) -> Result<Completed> {
        let id = file.id.clone();
        self.db
            .write(move |tx| {
                let file = get_file(tx, id.as_str())?.ok_or(Error::not_found("file"))?;
                if file.status != FileStatus::Pending {
                    return Err(Error::NotPending);
                }
                let folder = file.folder_id.as_ref();
                let mut replaced = None;
                let name = match folders::holder(tx, &file.owner_id, folder, &file.name.key(), Some(&id))? {
                    Some(Entry::File(old)) if file.on_conflict == OnConflict::Replace => {
                        let readers = reader_ids_of(tx, &old.id)?;
                        tx.execute("DELETE FROM files WHERE id = ?1", [old.id.as_str()])?;
                        replaced = Some((old, readers));
                        file.name.clone()
                    }
                    Some(_) => folders::free_name(tx, &file.owner_id, folder, &file.name, &id)?,
                    None => file.name.clone(),
                };
                tx.execute(
                    "UPDATE files SET status = 'ready', updated_at = ?2, generation = ?3, name = ?4, name_key = ?5
                     WHERE id = ?1",
                    params![id.as_str(), ms(at), generation, name.as_str(), name.key()],
                )?;
                let ready = FileRecord {
                    status: FileStatus::Ready,
                    received: file.size,
                    updated_at: at,
                    generation,
                    name,
                    ..file
                };
                insert_activity(tx, activity.map(|a| a(&ready)).as_ref())?;
                Ok(Completed { file: ready, replaced })
            })
            .await
    }

    async fn place_file(
        &self,
        file: &FileRecord,
        name: &FileName,
        folder: Option<&FolderId>,
        at: Timestamp,
        activity: Option<FileActivity>,
    ) -> Result<FileRecord> {
        let (id, name, folder) = (file.id.clone(), name.clone(), folder.cloned());
        self.db
            .write(move |tx| {
                let file = get_file(tx, id.as_str())?.ok_or(Error::not_found("file"))?;
                if let Some(d) = &folder {
                    folders::owned_folder(tx, &file.owner_id, d)?;
                }
                // A pending file takes its name when it completes.
                let key = if file.status == FileStatus::Ready {
                    folders::name_free(tx, &file.owner_id, folder.as_ref(), &name, Some(&id), None)?;
                    Some(name.key())
                } else {
                    None
                };
                tx.execute(
                    "UPDATE files SET name = ?2, name_key = ?3, folder_id = ?4, updated_at = ?5 WHERE id = ?1",
                    params![id.as_str(), name.as_str(), key, folder.as_ref().map(|d| d.as_str()), ms(at)],
                )?;
                let placed = FileRecord { name, folder_id: folder, updated_at: at, ..file };
                insert_activity(tx, activity.map(|a| a(&placed)).as_ref())?;
                Ok(placed)
            })
            .await
    }

    async fn delete_file(
        &self,
        id: &FileId,
        guard: Option<FileGuard>,
        activity: Option<Activity>,
    ) -> Result<Option<(FileRecord, Vec<UserId>)>> {
        let id = id.clone();
        self.db
            .write(move |tx| {
                let Some(file) = get_file(tx, id.as_str())? else { return Ok(None) };
                if let Some(g) = &guard {
                    g(&file)?;
                }
                let readers = reader_ids_of(tx, &id)?;
                // Shares, invitations and links go with it (ON DELETE CASCADE).
                tx.execute("DELETE FROM files WHERE id = ?1", [id.as_str()])?;
                insert_activity(tx, activity.as_ref())?;
                Ok(Some((file, readers)))
            })
            .await
    }

    async fn list_files(&self, q: &FileQuery) -> Result<Page<FileRecord>> {
        let q = q.clone();
        self.db
            .read(move |c| {
                let order = match q.sort {
                    SortKey::Name => "f.name COLLATE NOCASE",
                    SortKey::Size => "f.size",
                    SortKey::Created => "f.created_at",
                    SortKey::Updated => "f.updated_at",
                };
                let dir = if q.descending { "DESC" } else { "ASC" };
                let status = if q.uploading { "f.status IN ('pending', 'ready')" } else { "f.status = 'ready'" };
                let (from, (within, folder)) = match q.scope {
                    Scope::Mine => ("files f WHERE f.owner_id = ?1", folders::within_clause(&q.within)),
                    Scope::SharedWithMe => {
                        ("files f JOIN shares s ON s.file_id = f.id WHERE s.user_id = ?1", ("", String::new()))
                    }
                };
                let sql = format!(
                    "SELECT {FILE_COLS} FROM {from}{within} AND {status} ORDER BY {order} {dir}, f.id {dir} LIMIT ?2 OFFSET ?3"
                );
                let mut stmt = c.prepare_cached(&sql)?;
                let (user, limit, offset) = (q.user.as_str(), (q.limit + 1) as i64, q.offset as i64);
                let rows = if within.is_empty() {
                    stmt.query_map(params![user, limit, offset], file_row)?.collect::<rusqlite::Result<Vec<_>>>()
                } else {
                    stmt.query_map(params![user, limit, offset, folder], file_row)?.collect::<rusqlite::Result<Vec<_>>>()
                };
                let mut items = rows?;
                let next_offset = if items.len() as u64 > q.limit {
                    items.truncate(q.limit as usize);
                    Some(q.offset + q.limit)
                } else {
                    None
                };
                Ok(Page { items, next_offset })
            })
            .await
    }

    async fn usage(&self, owner: &UserId) -> Result<u64> {
        let owner = owner.clone();
        self.db
            .read(move |c| {
                let used: i64 = c.query_row(
                    "SELECT COALESCE(SUM(size), 0) FROM files WHERE owner_id = ?1",
                    [owner.as_str()],
                    |r| r.get(0),
                )?;
                Ok(used as u64)
            })
            .await
    }

    async fn pending_before(&self, before: Timestamp, limit: u64) -> Result<Vec<FileRecord>> {
        self.db
            .read(move |c| {
                Ok(c.prepare(&format!(
                    "SELECT {FILE_COLS} FROM files f WHERE f.status = 'pending' AND f.created_at < ?1 LIMIT ?2"
                ))?
                .query_map(params![ms(before), limit as i64], file_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?)
            })
            .await
    }

    async fn add_share(
        &self,
        file: &FileId,
        user: &UserId,
        at: Timestamp,
        guard: Option<FileGuard>,
        activity: Option<FileActivity>,
    ) -> Result<Option<FileRecord>> {
        let (file, user) = (file.clone(), user.clone());
        self.db
            .write(move |tx| {
                let f = guarded_file(tx, &file, guard)?;
                let n = tx.execute(
                    "INSERT OR IGNORE INTO shares (file_id, user_id, created_at) VALUES (?1, ?2, ?3)",
                    params![file.as_str(), user.as_str(), ms(at)],
                )?;
                if n == 0 {
                    return Ok(None);
                }
                insert_activity(tx, activity.map(|a| a(&f)).as_ref())?;
                Ok(Some(f))
            })
            .await
    }

    async fn unshare(
        &self,
        file: &FileId,
        user: Option<&UserId>,
        email: &Email,
        guard: Option<FileGuard>,
        activity: Option<FileActivity>,
    ) -> Result<Option<Unshared>> {
        let (file, user, email) = (file.clone(), user.cloned(), email.clone());
        self.db
            .write(move |tx| {
                let f = guarded_file(tx, &file, guard)?;
                let reader = match &user {
                    Some(u) => {
                        tx.execute(
                            "DELETE FROM shares WHERE file_id = ?1 AND user_id = ?2",
                            params![file.as_str(), u.as_str()],
                        )? == 1
                    }
                    None => false,
                };
                let invitation = tx.execute(
                    "DELETE FROM invitations WHERE file_id = ?1 AND email = ?2",
                    params![file.as_str(), email.as_str()],
                )? == 1;
                if !reader && !invitation {
                    return Ok(None);
                }
                insert_activity(tx, activity.map(|a| a(&f)).as_ref())?;
                Ok(Some(Unshared { file: f, reader }))
            })
            .await
    }

    async fn readers(&self, file: &FileId) -> Result<Vec<User>> {
        let file = file.clone();
        self.db.read(move |c| readers_of(c, &file)).await
    }

    async fn add_invitation(
        &self,
        file: &FileId,
        email: &Email,
        at: Timestamp,
        guard: Option<FileGuard>,
        activity: Option<FileActivity>,
    ) -> Result<Option<FileRecord>> {
        let (file, email) = (file.clone(), email.clone());
        self.db
            .write(move |tx| {
                let f = guarded_file(tx, &file, guard)?;
                let n = tx.execute(
                    "INSERT OR IGNORE INTO invitations (file_id, email, created_at) VALUES (?1, ?2, ?3)",
                    params![file.as_str(), email.as_str(), ms(at)],
                )?;
                if n == 0 {
                    return Ok(None);
                }
                insert_activity(tx, activity.map(|a| a(&f)).as_ref())?;
                Ok(Some(f))
            })
            .await
    }

    async fn invitations(&self, file: &FileId) -> Result<Vec<Email>> {
        let file = file.clone();
        self.db.read(move |c| invitations_of(c, &file)).await
    }

    async fn claim_invitations(&self, user: &User, at: Timestamp) -> Result<Vec<FileId>> {
        let user = user.clone();
        self.db
            .write(move |tx| {
                let files = tx
                    .prepare("SELECT file_id FROM invitations WHERE email = ?1")?
                    .query_map([user.email.as_str()], |r| r.get::<_, String>(0))?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                for f in &files {
                    tx.execute(
                        "INSERT OR IGNORE INTO shares (file_id, user_id, created_at) VALUES (?1, ?2, ?3)",
                        params![f, user.id.as_str(), ms(at)],
                    )?;
                }
                tx.execute("DELETE FROM invitations WHERE email = ?1", [user.email.as_str()])?;
                files.iter().map(|f| FileId::parse(f)).collect()
            })
            .await
    }

    async fn insert_link(&self, link: &Link, activity: Option<Activity>) -> Result<()> {
        let l = link.clone();
        self.db
            .write(move |tx| {
                // What it opens may have been deleted since the service read
                // it: "not found", as in Firestore, never a foreign-key failure.
                linked(tx, &l.target)?.ok_or_else(|| l.target.not_found())?;
                let (file, folder) = match &l.target {
                    LinkTarget::File(f) => (Some(f.as_str()), None),
                    LinkTarget::Folder(d) => (None, Some(d.as_str())),
                };
                tx.execute(
                    &format!("INSERT INTO links ({LINK_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"),
                    params![
                        l.id.as_str(),
                        file,
                        l.owner_id.as_str(),
                        l.token_hash,
                        l.password_hash,
                        l.expires_at.map(ms),
                        l.max_downloads.map(|n| n as i64),
                        l.downloads as i64,
                        l.revoked as i64,
                        ms(l.created_at),
                        folder
                    ],
                )?;
                insert_activity(tx, activity.as_ref())?;
                Ok(())
            })
            .await
    }

    async fn link(&self, id: &LinkId) -> Result<Option<Link>> {
        let id = id.clone();
        self.db
            .read(move |c| {
                Ok(c.query_row(&format!("SELECT {LINK_COLS} FROM links WHERE id = ?1"), [id.as_str()], link_row)
                    .optional()?)
            })
            .await
    }

    async fn link_by_token_hash(&self, token_hash: &str) -> Result<Option<Link>> {
        let h = token_hash.to_owned();
        self.db
            .read(move |c| {
                Ok(c.query_row(&format!("SELECT {LINK_COLS} FROM links WHERE token_hash = ?1"), [h], link_row)
                    .optional()?)
            })
            .await
    }

    async fn links_for_file(&self, file: &FileId) -> Result<Vec<Link>> {
        let file = file.clone();
        self.db.read(move |c| links_of(c, "file_id", file.as_str())).await
    }

    async fn links_for_folder(&self, folder: &FolderId) -> Result<Vec<Link>> {
        let folder = folder.clone();
        self.db.read(move |c| links_of(c, "folder_id", folder.as_str())).await
    }

    async fn revoke_link(&self, link: &Link, activity: Option<LinkActivity>) -> Result<Option<Linked>> {
        let link = link.clone();
        self.db
            .write(move |tx| {
                let n = tx.execute("UPDATE links SET revoked = 1 WHERE id = ?1 AND revoked = 0", [link.id.as_str()])?;
                let opened = if n == 1 { linked(tx, &link.target)? } else { None };
                if let Some(o) = &opened {
                    insert_activity(tx, activity.map(|a| a(&Link { revoked: true, ..link }, o)).as_ref())?;
                }
                Ok(opened)
            })
            .await
    }

    async fn count_link_download(
        &self,
        link: &Link,
        now: Timestamp,
        activity: Option<LinkActivity>,
    ) -> Result<Result<(Link, Linked), LinkRefusal>> {
        let id = link.id.clone();
        self.db
            .write(move |tx| {
                let Some(link) = tx
                    .query_row(&format!("SELECT {LINK_COLS} FROM links WHERE id = ?1"), [id.as_str()], link_row)
                    .optional()?
                else {
                    return Ok(Err(LinkRefusal::NotAvailable));
                };
                if let Some(refusal) = link.refusal(now) {
                    return Ok(Err(refusal));
                }
                let Some(opened) = linked(tx, &link.target)? else {
                    return Ok(Err(LinkRefusal::NotAvailable));
                };
                tx.execute("UPDATE links SET downloads = downloads + 1 WHERE id = ?1", [id.as_str()])?;
                let link = Link { downloads: link.downloads + 1, ..link };
                insert_activity(tx, activity.map(|a| a(&link, &opened)).as_ref())?;
                Ok(Ok((link, opened)))
            })
            .await
    }

    async fn append_activity(&self, a: &Activity) -> Result<()> {
        let a = a.clone();
        self.db.write(move |tx| insert_activity(tx, Some(&a))).await
    }

    async fn activity(&self, owner: &UserId, file: Option<&FileId>, limit: u64) -> Result<Vec<Activity>> {
        let (owner, file) = (owner.clone(), file.cloned());
        self.db
            .read(move |c| {
                const COLS: &str = ACTIVITY_COLS;
                let rows = match file {
                    Some(f) => c
                        .prepare_cached(&format!(
                            "SELECT {COLS} FROM activity WHERE owner_id = ?1 AND file_id = ?2 ORDER BY seq DESC LIMIT ?3"
                        ))?
                        .query_map(params![owner.as_str(), f.as_str(), limit as i64], activity_row)?
                        .collect::<rusqlite::Result<Vec<_>>>()?,
                    None => c
                        .prepare_cached(&format!("SELECT {COLS} FROM activity WHERE owner_id = ?1 ORDER BY seq DESC LIMIT ?2"))?
                        .query_map(params![owner.as_str(), limit as i64], activity_row)?
                        .collect::<rusqlite::Result<Vec<_>>>()?,
                };
                Ok(rows)
            })
            .await
    }

    async fn activity_record(&self, id: &ActivityId) -> Result<Option<Activity>> {
        let id = id.clone();
        self.db
            .read(move |c| {
                Ok(c.query_row(
                    &format!("SELECT {ACTIVITY_COLS} FROM activity WHERE id = ?1"),
                    [id.as_str()],
                    activity_row,
                )
                .optional()?)
            })
            .await
    }
}

const ACTIVITY_COLS: &str =
    "id, owner_id, file_id, file_name, kind, actor_id, actor_email, link_id, detail, at, folder_id";

/// Writes an activity record inside the caller's transaction.
fn insert_activity(tx: &rusqlite::Transaction<'_>, a: Option<&Activity>) -> Result<()> {
    let Some(a) = a else { return Ok(()) };
    tx.execute(
        "INSERT INTO activity (id, owner_id, file_id, file_name, kind, actor_id, actor_email, link_id, detail, at, folder_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            a.id.as_str(),
            a.owner_id.as_str(),
            a.file_id.as_ref().map(|f| f.as_str()).unwrap_or(""),
            a.file_name,
            a.kind.as_str(),
            a.actor_id.as_ref().map(|u| u.as_str().to_owned()),
            a.actor_email.as_ref().map(|e| e.as_str().to_owned()),
            a.link_id.as_ref().map(|l| l.as_str().to_owned()),
            a.detail,
            ms(a.at),
            a.folder_id.as_ref().map(|d| d.as_str().to_owned())
        ],
    )?;
    Ok(())
}

fn reader_ids_of(c: &Connection, file: &FileId) -> Result<Vec<UserId>> {
    let ids = c
        .prepare_cached("SELECT user_id FROM shares WHERE file_id = ?1")?
        .query_map([file.as_str()], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    ids.iter().map(|r| UserId::parse(r)).collect()
}

fn readers_of(c: &Connection, file: &FileId) -> Result<Vec<User>> {
    Ok(c.prepare_cached(
        "SELECT u.id, u.email FROM shares s JOIN users u ON u.id = s.user_id WHERE s.file_id = ?1 ORDER BY u.email",
    )?
    .query_map([file.as_str()], user_row)?
    .collect::<rusqlite::Result<Vec<_>>>()?)
}

fn invitations_of(c: &Connection, file: &FileId) -> Result<Vec<Email>> {
    let emails = c
        .prepare_cached("SELECT email FROM invitations WHERE file_id = ?1 ORDER BY email")?
        .query_map([file.as_str()], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    emails.iter().map(|e| Email::parse(e)).collect()
}

/// The links whose `column` (`file_id` or `folder_id`) is `id`.
fn links_of(c: &Connection, column: &'static str, id: &str) -> Result<Vec<Link>> {
    Ok(c.prepare_cached(&format!("SELECT {LINK_COLS} FROM links WHERE {column} = ?1 ORDER BY created_at, id"))?
        .query_map([id], link_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

/// What a link opens, if it is there.
fn linked(c: &Connection, target: &LinkTarget) -> Result<Option<Linked>> {
    Ok(match target {
        LinkTarget::File(f) => get_file(c, f.as_str())?.map(Linked::File),
        LinkTarget::Folder(d) => folders::get_folder(c, d.as_str())?.map(Linked::Folder),
    })
}

/// The file a change is about, if it exists and `guard` lets the change go on.
fn guarded_file(tx: &rusqlite::Transaction<'_>, file: &FileId, guard: Option<FileGuard>) -> Result<FileRecord> {
    let f = get_file(tx, file.as_str())?.ok_or(Error::not_found("file"))?;
    if let Some(g) = guard {
        g(&f)?;
    }
    Ok(f)
}

//! Folders in SQLite: the `folders` table (schema step 4), each row
//! pointing at its parent, and the name rules shared with files.

use async_trait::async_trait;
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{FILE_COLS, SqliteStore, file_row, ms, parse_col, reader_ids_of, ts};
use crate::domain::{Email, FileId, FileName, FileRecord, Folder, FolderId, User, UserId};
use crate::error::{Error, Result};
use crate::store::{DeletedTree, Entry, FolderSharing, FolderStore, MAX_FOLDER_DEPTH};

pub(super) const FOLDER_COLS: &str = "d.id, d.owner_id, d.name, d.parent_id, d.created_at, d.updated_at, d.owner_email";

pub(super) fn folder_row(row: &Row<'_>) -> rusqlite::Result<Folder> {
    Ok(Folder {
        id: parse_col(FolderId::parse(&row.get::<_, String>(0)?))?,
        owner_id: parse_col(UserId::parse(&row.get::<_, String>(1)?))?,
        name: parse_col(FileName::parse(&row.get::<_, String>(2)?))?,
        parent: row.get::<_, Option<String>>(3)?.map(|p| parse_col(FolderId::parse(&p))).transpose()?,
        created_at: ts(row.get(4)?),
        updated_at: ts(row.get(5)?),
        owner_email: parse_col(Email::parse(&row.get::<_, String>(6)?))?,
    })
}

pub(super) fn get_folder(c: &Connection, id: &str) -> Result<Option<Folder>> {
    Ok(c.query_row(&format!("SELECT {FOLDER_COLS} FROM folders d WHERE d.id = ?1"), [id], folder_row).optional()?)
}

/// Schema step 4's Rust half: every ready file gets its `name_key`, except
/// where an earlier release let one owner keep two files of one name at
/// the top. The oldest keeps the key; the others keep their names without
/// one, and take a key when they are next renamed or moved.
pub(super) fn fill_name_keys(tx: &rusqlite::Transaction<'_>) -> Result<()> {
    let rows = tx
        .prepare("SELECT id, owner_id, name FROM files WHERE status = 'ready' ORDER BY created_at, id")?
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut seen = std::collections::HashSet::new();
    let mut set = tx.prepare("UPDATE files SET name_key = ?2 WHERE id = ?1")?;
    for (id, owner, name) in rows {
        let key = name.to_lowercase();
        if seen.insert((owner, key.clone())) {
            set.execute(params![id, key])?;
        }
    }
    drop(set);
    tx.execute_batch(
        "CREATE UNIQUE INDEX files_by_name ON files (owner_id, ifnull(folder_id, ''), name_key)
         WHERE name_key IS NOT NULL;",
    )?;
    Ok(())
}

/// The folder if `owner` has it; anyone else's is not found.
pub(super) fn owned_folder(c: &Connection, owner: &UserId, id: &FolderId) -> Result<Folder> {
    match get_folder(c, id.as_str())? {
        Some(f) if f.owner_id == *owner => Ok(f),
        _ => Err(Error::not_found("folder")),
    }
}

/// What holds `key` directly in `parent`: a folder, or a ready file other
/// than `except`.
pub(super) fn holder(
    c: &Connection,
    owner: &UserId,
    parent: Option<&FolderId>,
    key: &str,
    except: Option<&FileId>,
) -> Result<Option<Entry>> {
    let parent = parent.map(|p| p.as_str()).unwrap_or("");
    let folder = c
        .prepare_cached(&format!(
            "SELECT {FOLDER_COLS} FROM folders d WHERE d.owner_id = ?1 AND ifnull(d.parent_id, '') = ?2 AND d.name_key = ?3"
        ))?
        .query_row(params![owner.as_str(), parent, key], folder_row)
        .optional()?;
    if let Some(f) = folder {
        return Ok(Some(Entry::Folder(f)));
    }
    let file = c
        .prepare_cached(&format!(
            "SELECT {FILE_COLS} FROM files f WHERE f.owner_id = ?1 AND ifnull(f.folder_id, '') = ?2 AND f.name_key = ?3
             AND f.status = 'ready' AND f.id != ?4"
        ))?
        .query_row(params![owner.as_str(), parent, key, except.map(|e| e.as_str()).unwrap_or("")], file_row)
        .optional()?;
    Ok(file.map(Entry::File))
}

/// `Error::NameTaken` unless `name` is free directly in `parent`.
pub(super) fn name_free(
    c: &Connection,
    owner: &UserId,
    parent: Option<&FolderId>,
    name: &FileName,
    except_file: Option<&FileId>,
    except_folder: Option<&FolderId>,
) -> Result<()> {
    match holder(c, owner, parent, &name.key(), except_file)? {
        Some(Entry::Folder(f)) if Some(&f.id) == except_folder => Ok(()),
        Some(_) => Err(Error::NameTaken { name: name.as_str().to_owned() }),
        None => Ok(()),
    }
}

/// The first of `name`, "name (2)", "name (3)", ... free in `parent`.
pub(super) fn free_name(
    c: &Connection,
    owner: &UserId,
    parent: Option<&FolderId>,
    name: &FileName,
    except: &FileId,
) -> Result<FileName> {
    if holder(c, owner, parent, &name.key(), Some(except))?.is_none() {
        return Ok(name.clone());
    }
    for n in 2..=10_000 {
        let candidate = name.numbered(n);
        if holder(c, owner, parent, &candidate.key(), Some(except))?.is_none() {
            return Ok(candidate);
        }
    }
    Err(Error::NameTaken { name: name.as_str().to_owned() })
}

/// How deep `id` is: 1 for a folder at the top.
fn depth(c: &Connection, id: &FolderId) -> Result<usize> {
    Ok(ancestors(c, id)?.len())
}

/// The folder and those above it, the top first.
fn ancestors(c: &Connection, id: &FolderId) -> Result<Vec<Folder>> {
    Ok(c.prepare_cached(&format!(
        "WITH RECURSIVE up(id, n) AS (SELECT ?1, 0 UNION ALL
                 SELECT d.parent_id, up.n + 1 FROM folders d JOIN up ON d.id = up.id
                 WHERE d.parent_id IS NOT NULL AND up.n < {limit})
             SELECT {FOLDER_COLS} FROM up JOIN folders d ON d.id = up.id ORDER BY up.n DESC",
        limit = MAX_FOLDER_DEPTH + 1
    ))?
    .query_map([id.as_str()], folder_row)?
    .collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The folder and every folder inside it, outermost first, with how far
/// below the folder each is (0 for itself).
fn subtree(c: &Connection, id: &FolderId) -> Result<Vec<(Folder, usize)>> {
    Ok(c.prepare_cached(&format!(
        "WITH RECURSIVE down(id, n) AS (SELECT ?1, 0 UNION ALL
             SELECT d.id, down.n + 1 FROM folders d JOIN down ON d.parent_id = down.id)
         SELECT {FOLDER_COLS}, down.n FROM down JOIN folders d ON d.id = down.id ORDER BY down.n, d.id"
    ))?
    .query_map([id.as_str()], |r| Ok((folder_row(r)?, r.get::<_, i64>(7)? as usize)))?
    .collect::<rusqlite::Result<Vec<_>>>()?)
}

#[async_trait]
impl FolderStore for SqliteStore {
    async fn create_folder(&self, folder: &Folder) -> Result<()> {
        let f = folder.clone();
        self.db
            .write(move |tx| {
                if let Some(p) = &f.parent {
                    owned_folder(tx, &f.owner_id, p)?;
                    if depth(tx, p)? >= MAX_FOLDER_DEPTH {
                        return Err(too_deep());
                    }
                }
                name_free(tx, &f.owner_id, f.parent.as_ref(), &f.name, None, None)?;
                tx.execute(
                    "INSERT INTO folders (id, owner_id, parent_id, name, name_key, created_at, updated_at, owner_email)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![
                        f.id.as_str(),
                        f.owner_id.as_str(),
                        f.parent.as_ref().map(|p| p.as_str()),
                        f.name.as_str(),
                        f.name.key(),
                        ms(f.created_at),
                        ms(f.updated_at),
                        f.owner_email.as_str()
                    ],
                )?;
                Ok(())
            })
            .await
    }

    async fn folder(&self, id: &FolderId) -> Result<Option<Folder>> {
        let id = id.clone();
        self.db.read(move |c| get_folder(c, id.as_str())).await
    }

    async fn folder_path(&self, id: &FolderId) -> Result<Vec<Folder>> {
        let id = id.clone();
        self.db.read(move |c| ancestors(c, &id)).await
    }

    async fn folders_of(&self, owner: &UserId, limit: u64) -> Result<Vec<Folder>> {
        let owner = owner.clone();
        self.db
            .read(move |c| {
                Ok(c.prepare_cached(&format!(
                    "SELECT {FOLDER_COLS} FROM folders d WHERE d.owner_id = ?1 ORDER BY d.updated_at DESC, d.id LIMIT ?2"
                ))?
                .query_map(params![owner.as_str(), limit as i64], folder_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?)
            })
            .await
    }

    async fn folders_in(&self, owner: &UserId, parent: Option<&FolderId>) -> Result<Vec<Folder>> {
        let (owner, parent) = (owner.clone(), parent.cloned());
        self.db
            .read(move |c| {
                Ok(c.prepare_cached(&format!(
                    "SELECT {FOLDER_COLS} FROM folders d WHERE d.owner_id = ?1 AND ifnull(d.parent_id, '') = ?2
                     ORDER BY d.name_key, d.id"
                ))?
                .query_map(params![owner.as_str(), parent.as_ref().map(|p| p.as_str()).unwrap_or("")], folder_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?)
            })
            .await
    }

    async fn folders_below(&self, folder: &Folder) -> Result<Vec<Folder>> {
        let folder = folder.clone();
        self.db
            .read(move |c| {
                let mut below: Vec<Folder> = subtree(c, &folder.id)?.into_iter().skip(1).map(|(d, _)| d).collect();
                below.retain(|d| d.owner_id == folder.owner_id);
                Ok(below)
            })
            .await
    }

    async fn ready_files_in(&self, owner: &UserId, folders: &[FolderId]) -> Result<Vec<FileRecord>> {
        let (owner, folders) = (owner.clone(), folders.to_vec());
        self.db
            .read(move |c| {
                let mut stmt = c.prepare_cached(&format!(
                    "SELECT {FILE_COLS} FROM files f WHERE f.owner_id = ?1 AND f.folder_id = ?2 AND f.status = 'ready'"
                ))?;
                let mut files = Vec::new();
                for d in &folders {
                    for f in stmt.query_map(params![owner.as_str(), d.as_str()], file_row)? {
                        files.push(f?);
                    }
                }
                Ok(files)
            })
            .await
    }

    async fn entry_named(&self, owner: &UserId, parent: Option<&FolderId>, name: &FileName) -> Result<Option<Entry>> {
        let (owner, parent, name) = (owner.clone(), parent.cloned(), name.clone());
        self.db.read(move |c| holder(c, &owner, parent.as_ref(), &name.key(), None)).await
    }

    async fn place_folder(
        &self,
        folder: &Folder,
        name: &FileName,
        parent: Option<&FolderId>,
        at: Timestamp,
    ) -> Result<Folder> {
        let (folder, name, parent) = (folder.clone(), name.clone(), parent.cloned());
        self.db
            .write(move |tx| {
                let current = owned_folder(tx, &folder.owner_id, &folder.id)?;
                if let Some(p) = &parent {
                    owned_folder(tx, &folder.owner_id, p)?;
                    let above = ancestors(tx, p)?;
                    if above.iter().any(|a| a.id == folder.id) {
                        return Err(Error::InvalidMove(format!(
                            "“{}” cannot go inside itself or a folder within it",
                            current.name.as_str()
                        )));
                    }
                    let below = subtree(tx, &folder.id)?.iter().map(|(_, n)| *n).max().unwrap_or(0);
                    if above.len() + 1 + below > MAX_FOLDER_DEPTH {
                        return Err(too_deep());
                    }
                }
                name_free(tx, &folder.owner_id, parent.as_ref(), &name, None, Some(&folder.id))?;
                tx.execute(
                    "UPDATE folders SET name = ?2, name_key = ?3, parent_id = ?4, updated_at = ?5 WHERE id = ?1",
                    params![folder.id.as_str(), name.as_str(), name.key(), parent.as_ref().map(|p| p.as_str()), ms(at)],
                )?;
                Ok(Folder { name, parent, updated_at: at, ..current })
            })
            .await
    }

    async fn delete_folder(&self, folder: &Folder) -> Result<Option<DeletedTree>> {
        let folder = folder.clone();
        self.db
            .write(move |tx| {
                match get_folder(tx, folder.id.as_str())? {
                    Some(f) if f.owner_id == folder.owner_id => {}
                    _ => return Ok(None),
                }
                let folders: Vec<Folder> = subtree(tx, &folder.id)?.into_iter().map(|(f, _)| f).collect();
                let mut files = Vec::new();
                let mut in_folder =
                    tx.prepare_cached(&format!("SELECT {FILE_COLS} FROM files f WHERE f.folder_id = ?1"))?;
                for d in &folders {
                    for f in in_folder.query_map([d.id.as_str()], file_row)? {
                        let f = f?;
                        let readers = reader_ids_of(tx, &f.id)?;
                        files.push((f, readers));
                    }
                }
                drop(in_folder);
                // Shares, invitations and links go with each file (ON DELETE
                // CASCADE); folders go innermost first, for their parent keys.
                for (f, _) in &files {
                    tx.execute("DELETE FROM files WHERE id = ?1", [f.id.as_str()])?;
                }
                for d in folders.iter().rev() {
                    tx.execute("DELETE FROM folders WHERE id = ?1", [d.id.as_str()])?;
                }
                Ok(Some(DeletedTree { folders, files }))
            })
            .await
    }
}

fn too_deep() -> Error {
    Error::InvalidMove(format!("folders go at most {MAX_FOLDER_DEPTH} deep"))
}

/// Files directly in one of `owner`'s folders, for `FileQuery` (used by the
/// store's list).
pub(super) fn within_clause(within: &crate::store::Within) -> (&'static str, String) {
    match within {
        crate::store::Within::Anywhere => ("", String::new()),
        crate::store::Within::Top => (" AND ifnull(f.folder_id, '') = ?4", String::new()),
        crate::store::Within::Folder(id) => (" AND ifnull(f.folder_id, '') = ?4", id.as_str().to_owned()),
    }
}

#[async_trait]
impl FolderSharing for SqliteStore {
    async fn share_folder(&self, folder: &Folder, user: &UserId, at: Timestamp) -> Result<bool> {
        let (folder, user) = (folder.clone(), user.clone());
        self.db
            .write(move |tx| {
                owned_folder(tx, &folder.owner_id, &folder.id)?;
                Ok(tx.execute(
                    "INSERT OR IGNORE INTO folder_shares (folder_id, user_id, created_at) VALUES (?1, ?2, ?3)",
                    params![folder.id.as_str(), user.as_str(), ms(at)],
                )? == 1)
            })
            .await
    }

    async fn invite_to_folder(&self, folder: &Folder, email: &Email, at: Timestamp) -> Result<bool> {
        let (folder, email) = (folder.clone(), email.clone());
        self.db
            .write(move |tx| {
                owned_folder(tx, &folder.owner_id, &folder.id)?;
                Ok(tx.execute(
                    "INSERT OR IGNORE INTO folder_invitations (folder_id, email, created_at) VALUES (?1, ?2, ?3)",
                    params![folder.id.as_str(), email.as_str(), ms(at)],
                )? == 1)
            })
            .await
    }

    async fn unshare_folder(&self, folder: &Folder, user: Option<&UserId>, email: &Email) -> Result<Option<bool>> {
        let (folder, user, email) = (folder.clone(), user.cloned(), email.clone());
        self.db
            .write(move |tx| {
                owned_folder(tx, &folder.owner_id, &folder.id)?;
                let reader = match &user {
                    Some(u) => {
                        tx.execute(
                            "DELETE FROM folder_shares WHERE folder_id = ?1 AND user_id = ?2",
                            params![folder.id.as_str(), u.as_str()],
                        )? == 1
                    }
                    None => false,
                };
                let invitation = tx.execute(
                    "DELETE FROM folder_invitations WHERE folder_id = ?1 AND email = ?2",
                    params![folder.id.as_str(), email.as_str()],
                )? == 1;
                Ok((reader || invitation).then_some(reader))
            })
            .await
    }

    async fn folder_sharing(&self, folder: &FolderId) -> Result<(Vec<User>, Vec<Email>)> {
        let folder = folder.clone();
        self.db
            .read(move |c| {
                let people = c
                    .prepare_cached(
                        "SELECT u.id, u.email FROM folder_shares s JOIN users u ON u.id = s.user_id
                         WHERE s.folder_id = ?1 ORDER BY u.email",
                    )?
                    .query_map([folder.as_str()], super::user_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                let waiting = c
                    .prepare_cached("SELECT email FROM folder_invitations WHERE folder_id = ?1 ORDER BY email")?
                    .query_map([folder.as_str()], |r| r.get::<_, String>(0))?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok((people, waiting.iter().map(|e| Email::parse(e)).collect::<Result<_>>()?))
            })
            .await
    }

    async fn viewers(&self, folder: &FolderId) -> Result<Vec<UserId>> {
        let folder = folder.clone();
        self.db.read(move |c| viewers_of(c, &folder)).await
    }

    async fn folders_shared_with(&self, user: &UserId) -> Result<Vec<Folder>> {
        let user = user.clone();
        self.db
            .read(move |c| {
                Ok(c.prepare_cached(&format!(
                    "SELECT {FOLDER_COLS} FROM folder_shares s JOIN folders d ON d.id = s.folder_id
                     WHERE s.user_id = ?1 ORDER BY d.name_key, d.id"
                ))?
                .query_map([user.as_str()], folder_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?)
            })
            .await
    }

    async fn claim_folder_invitations(&self, user: &User, at: Timestamp) -> Result<Vec<FolderId>> {
        let user = user.clone();
        self.db
            .write(move |tx| {
                let folders = tx
                    .prepare("SELECT folder_id FROM folder_invitations WHERE email = ?1")?
                    .query_map([user.email.as_str()], |r| r.get::<_, String>(0))?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                for f in &folders {
                    tx.execute(
                        "INSERT OR IGNORE INTO folder_shares (folder_id, user_id, created_at) VALUES (?1, ?2, ?3)",
                        params![f, user.id.as_str(), ms(at)],
                    )?;
                }
                tx.execute("DELETE FROM folder_invitations WHERE email = ?1", [user.email.as_str()])?;
                folders.iter().map(|f| FolderId::parse(f)).collect()
            })
            .await
    }
}

/// Everyone who sees `folder`: the people it and every folder above it
/// are shared with.
pub(super) fn viewers_of(c: &Connection, folder: &FolderId) -> Result<Vec<UserId>> {
    let ids = c
        .prepare_cached(&format!(
            "WITH RECURSIVE up(id, n) AS (SELECT ?1, 0 UNION ALL
                 SELECT d.parent_id, up.n + 1 FROM folders d JOIN up ON d.id = up.id
                 WHERE d.parent_id IS NOT NULL AND up.n < {limit})
             SELECT DISTINCT s.user_id FROM up JOIN folder_shares s ON s.folder_id = up.id ORDER BY s.user_id",
            limit = MAX_FOLDER_DEPTH + 1
        ))?
        .query_map([folder.as_str()], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    ids.iter().map(|u| UserId::parse(u)).collect()
}

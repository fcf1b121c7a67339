//! Folders in Firestore: `folders/{id}`, each with its `parent` and all its
//! `ancestors`, and `names/{name_id}`, which holds each name taken in a
//! folder and is written in the same commit as whatever takes or frees it.
//!
//! Round trips: `create_folder` 2 (read the parent and the name, commit),
//! `place_folder` 4 (the folders below, then read, names, commit) plus one
//! commit per 400 folders below,
//! `folder_path` 2, `entry_named` 2, lists 1. `delete_folder` reads the
//! tree (one query for its folders, one per 30 of them for their files,
//! one batch for the files' refs) and deletes it in commits of at most
//! `DELETE_BATCH` files, folders last, so that an interrupted delete leaves
//! a folder to delete again, never files without a folder.

use std::collections::HashMap;

use async_trait::async_trait;
use jiff::Timestamp;

use super::docs::*;
use super::rpc::{self, TxFail, TxId, decode};
use super::{FirestoreStore, done};
use crate::domain::*;
use crate::error::{Error, Result};
use crate::store::{DeletedTree, Entry, FolderSharing, FolderStore, MAX_FOLDER_DEPTH};
use ::firestore::FirestoreQueryDirection;
use ::firestore::gcloud_sdk::google::firestore::v1::{Document, Write};

/// Files read per round trip when a tree is deleted; each takes about six
/// writes, more with many links, so their writes go in commits of at most
/// `rpc::MAX_WRITES`.
const DELETE_BATCH: usize = 60;

/// Folders whose `ancestors` one commit rewrites when their tree moves.
const MOVE_BATCH: usize = 400;

/// The folder document if it exists and `owner` has it.
pub(super) fn owned_folder_doc(doc: Option<&Document>, owner: &UserId) -> Result<FolderDoc> {
    match doc.map(decode::<FolderDoc>).transpose()? {
        Some(d) if d.owner_id == owner.as_str() => Ok(d),
        _ => Err(Error::not_found("folder")),
    }
}

#[async_trait]
impl FolderSharing for FirestoreStore {
    async fn share_folder(&self, folder: &Folder, user: &UserId, _at: Timestamp) -> Result<bool> {
        let owner = folder.owner_id.as_str();
        let path = self.path(FOLDERS, folder.id.as_str());
        let below = self.folder_docs_below(owner, folder.id.as_str()).await?;
        let uid = vec![user.to_string()];
        let later = self
            .rpc
            .transact(|| async {
                let (tx, found) = self.rpc.get(std::slice::from_ref(&path), None, true).await?;
                let tx = tx.unwrap_or_default();
                let doc = match owned_folder_doc(found[0].as_ref(), &folder.owner_id) {
                    Ok(d) => d,
                    Err(e) => return self.refuse(tx, e).await,
                };
                if doc.readers.contains(&uid[0]) {
                    self.rpc.rollback(tx).await;
                    return Ok(None);
                }
                // Adding a viewer below, a commit at a time past the first,
                // only ever shows what the share gives.
                let mut writes = vec![rpc::transform(
                    &path,
                    vec![rpc::array_union("readers", &uid), rpc::array_union("viewers", &uid)],
                )];
                let mut rest: Vec<Write> = below
                    .iter()
                    .map(|d| rpc::transform(&self.path(FOLDERS, &d.id), vec![rpc::array_union("viewers", &uid)]))
                    .collect();
                let later = if rest.len() > MOVE_BATCH { rest.split_off(MOVE_BATCH) } else { vec![] };
                writes.extend(rest);
                self.rpc.commit(Some(tx), writes).await?;
                Ok(Some(later))
            })
            .await?;
        let Some(later) = later else { return Ok(false) };
        for chunk in later.chunks(MOVE_BATCH) {
            self.rpc.commit(None, chunk.to_vec()).await.map_err(done)?;
        }
        Ok(true)
    }

    async fn invite_to_folder(&self, folder: &Folder, email: &Email, at: Timestamp) -> Result<bool> {
        let path = self.path(FOLDERS, folder.id.as_str());
        let id = invitation_id(&folder.id, email);
        let invitation = self.path(FOLDER_INVITATIONS, &id);
        self.rpc
            .transact(|| async {
                let (tx, found) = self.rpc.get(&[path.clone(), invitation.clone()], None, true).await?;
                let tx = tx.unwrap_or_default();
                if let Err(e) = owned_folder_doc(found[0].as_ref(), &folder.owner_id) {
                    return self.refuse(tx, e).await;
                }
                if found[1].is_some() {
                    self.rpc.rollback(tx).await;
                    return Ok(false);
                }
                let doc = FolderInvitationDoc {
                    folder_id: folder.id.to_string(),
                    owner_id: folder.owner_id.to_string(),
                    email: email.to_string(),
                    created_at: at,
                };
                let writes = vec![
                    rpc::create(&invitation, &doc)?,
                    rpc::transform(&path, vec![rpc::array_union("invitations", std::slice::from_ref(&id))]),
                ];
                self.rpc.commit(Some(tx), writes).await?;
                Ok(true)
            })
            .await
    }

    async fn unshare_folder(&self, folder: &Folder, user: Option<&UserId>, email: &Email) -> Result<Option<bool>> {
        let owner = folder.owner_id.as_str();
        let path = self.path(FOLDERS, folder.id.as_str());
        let id = invitation_id(&folder.id, email);
        let invitation = self.path(FOLDER_INVITATIONS, &id);
        // Read again in the transaction, as a move does (see place_folder).
        let below = self.folder_docs_below(owner, folder.id.as_str()).await?;
        self.rpc
            .transact(|| async {
                let mut paths = vec![path.clone(), invitation.clone()];
                paths.extend(folder.parent.as_ref().map(|p| self.path(FOLDERS, p.as_str())));
                let first_below = paths.len();
                paths.extend(self.tree_paths(&below));
                let (tx, found) = self.rpc.get(&paths, None, true).await?;
                let tx = tx.unwrap_or_default();
                let mut doc = match owned_folder_doc(found[0].as_ref(), &folder.owner_id) {
                    Ok(d) => d,
                    Err(e) => return self.refuse(tx, e).await,
                };
                let above = match folder.parent {
                    Some(_) => {
                        found[2].as_ref().map(decode::<FolderDoc>).transpose()?.map(|p| p.viewers).unwrap_or_default()
                    }
                    None => vec![],
                };
                let below = tree_as_read(&doc.id, &found[first_below..], &below)?;
                let uid = user.map(|u| u.to_string());
                let reader = uid.as_ref().is_some_and(|u| doc.readers.contains(u));
                let invited = found[1].is_some();
                if !reader && !invited {
                    self.rpc.rollback(tx).await;
                    return Ok(None);
                }
                let mut writes = Vec::new();
                if invited {
                    writes.push(rpc::delete(&invitation));
                    doc.invitations.retain(|i| *i != id);
                }
                let mut viewers = HashMap::new();
                if let (true, Some(u)) = (reader, &uid) {
                    // Everyone below sees again only what the shares left
                    // give: one commit, so that no folder in it stays open
                    // to them after the others have closed (up to
                    // MOVE_BATCH folders; past that, commit by commit).
                    doc.readers.retain(|r| r != u);
                    viewers = inherit(&doc, &above, &below);
                    doc.viewers = viewers[&doc.id].clone();
                }
                let patch =
                    SharingPatch { readers: &doc.readers, viewers: &doc.viewers, invitations: &doc.invitations };
                writes.push(rpc::patch(&path, &patch)?);
                if reader {
                    for d in &below {
                        writes
                            .push(rpc::patch(&self.path(FOLDERS, &d.id), &ViewersPatch { viewers: &viewers[&d.id] })?);
                    }
                }
                let later = if writes.len() > MOVE_BATCH + 4 { writes.split_off(MOVE_BATCH + 4) } else { vec![] };
                self.rpc.commit(Some(tx), writes).await?;
                for chunk in later.chunks(MOVE_BATCH) {
                    self.rpc.commit(None, chunk.to_vec()).await?;
                }
                Ok(Some(reader))
            })
            .await
    }

    async fn folder_sharing(&self, folder: &FolderId) -> Result<(Vec<User>, Vec<Email>)> {
        let Some(doc) = self.get_one::<FolderDoc>(FOLDERS, folder.as_str()).await? else {
            return Ok((vec![], vec![]));
        };
        let users: Vec<String> = doc.readers.iter().map(|r| self.path(USERS, r)).collect();
        let invitations: Vec<String> = doc.invitations.iter().map(|i| self.path(FOLDER_INVITATIONS, i)).collect();
        let wanted: Vec<String> = users.iter().chain(&invitations).cloned().collect();
        let (mut people, mut waiting) = (Vec::new(), Vec::new());
        if !wanted.is_empty() {
            let (_, found) = self.rpc.get(&wanted, None, false).await.map_err(done)?;
            let (u, i) = found.split_at(users.len());
            for d in u.iter().flatten() {
                people.push(decode::<UserDoc>(d)?.into_user()?);
            }
            for d in i.iter().flatten() {
                waiting.push(Email::parse(&decode::<FolderInvitationDoc>(d)?.email)?);
            }
        }
        people.sort_by(|a: &User, b| a.email.as_str().cmp(b.email.as_str()));
        waiting.sort_by(|a: &Email, b| a.as_str().cmp(b.as_str()));
        Ok((people, waiting))
    }

    async fn viewers(&self, folder: &FolderId) -> Result<Vec<UserId>> {
        let doc = self.get_one::<FolderDoc>(FOLDERS, folder.as_str()).await?;
        let mut ids: Vec<UserId> =
            doc.map(|d| d.viewers.iter().filter_map(|v| UserId::parse(v).ok()).collect()).unwrap_or_default();
        ids.sort();
        Ok(ids)
    }

    async fn folders_shared_with(&self, user: &UserId) -> Result<Vec<Folder>> {
        self.folders_by_name(|f| f.field("readers").array_contains(user.as_str())).await
    }

    async fn claim_folder_invitations(&self, user: &User, at: Timestamp) -> Result<Vec<FolderId>> {
        let docs =
            self.query(FOLDER_INVITATIONS, |f| f.field("email").eq(user.email.as_str()), vec![], None, None).await?;
        let mut claimed = Vec::new();
        for d in &docs {
            let inv = decode::<FolderInvitationDoc>(d)?;
            let id = super::doc_id(d).to_owned();
            if let Some(folder) = self.folder(&FolderId::parse(&inv.folder_id)?).await? {
                self.share_folder(&folder, &user.id, at).await?;
                let writes = vec![
                    rpc::delete(&self.path(FOLDER_INVITATIONS, &id)),
                    rpc::transform(
                        &self.path(FOLDERS, folder.id.as_str()),
                        vec![rpc::array_remove("invitations", std::slice::from_ref(&id))],
                    ),
                ];
                self.rpc.commit(None, writes).await.map_err(done)?;
                claimed.push(folder.id);
            } else {
                self.rpc.commit(None, vec![rpc::delete(&self.path(FOLDER_INVITATIONS, &id))]).await.map_err(done)?;
            }
        }
        Ok(claimed)
    }
}

/// The fields unsharing a folder touches on it.
#[derive(serde::Serialize)]
struct SharingPatch<'a> {
    readers: &'a [String],
    viewers: &'a [String],
    invitations: &'a [String],
}

/// Who sees `top` and each folder in `below` (all of them inside it): the
/// viewers of the place above `top`, and each folder's own readers on the
/// way down.
fn inherit(top: &FolderDoc, above: &[String], below: &[FolderDoc]) -> HashMap<String, Vec<String>> {
    let union = |a: &[String], b: &[String]| -> Vec<String> {
        let mut v: Vec<String> = a.iter().chain(b).cloned().collect();
        v.sort();
        v.dedup();
        v
    };
    let mut out = HashMap::new();
    out.insert(top.id.clone(), union(above, &top.readers));
    let mut by_depth: Vec<&FolderDoc> = below.iter().collect();
    by_depth.sort_by_key(|d| d.ancestors.len());
    for d in by_depth {
        let parent = out.get(&d.parent).cloned().unwrap_or_default();
        out.insert(d.id.clone(), union(&parent, &d.readers));
    }
    out
}

/// What a move changes in a folder below the one moved.
#[derive(serde::Serialize)]
struct Placement {
    ancestors: Vec<String>,
    viewers: Vec<String>,
}

/// The folders below `top` as a transaction read them again: the first
/// MOVE_BATCH from `read` (those deleted or moved out of it meanwhile left
/// out), the rest as the query before it found them.
fn tree_as_read(top: &str, read: &[Option<Document>], below: &[FolderDoc]) -> Result<Vec<FolderDoc>> {
    let mut tree = Vec::with_capacity(below.len());
    for doc in read.iter().flatten() {
        let d = decode::<FolderDoc>(doc)?;
        if d.ancestors.iter().any(|a| a == top) {
            tree.push(d);
        }
    }
    tree.extend(below.iter().skip(MOVE_BATCH).cloned());
    Ok(tree)
}

fn too_deep() -> Error {
    Error::InvalidMove(format!("folders go at most {MAX_FOLDER_DEPTH} deep"))
}

/// The name a completing upload takes.
pub(super) struct Claim {
    pub name: FileName,
    /// The file it replaces (`OnConflict::Replace`), with its refs.
    pub replaces: Option<(FileDoc, FileRefsDoc)>,
}

impl FirestoreStore {
    /// The documents of the first MOVE_BATCH folders of `below`, for a
    /// transaction to read again (tree_as_read).
    fn tree_paths<'a>(&'a self, below: &'a [FolderDoc]) -> impl Iterator<Item = String> + 'a {
        below.iter().take(MOVE_BATCH).map(|d| self.path(FOLDERS, &d.id))
    }

    fn name_path(&self, owner: &str, parent: &str, name: &FileName) -> String {
        self.path(NAMES, &name_id(owner, parent, &name.key()))
    }

    /// The name the pending file `doc` takes as it becomes ready, read in
    /// transaction `tx`: its own if free; else, by `on_conflict`, the same
    /// name in place of the file that has it, or the first free
    /// "name (n)", looked up 50 at a time.
    ///
    /// `read` is the name's holder and the folder (if any), when they were
    /// read already in `tx`.
    pub(super) async fn claim_name(
        &self,
        tx: &TxId,
        doc: &FileDoc,
        on_conflict: OnConflict,
        read: Option<Vec<Option<Document>>>,
    ) -> Result<Claim, TxFail> {
        let name = FileName::parse(&doc.name)?;
        let found = match read {
            Some(found) => found,
            None => {
                let mut paths = vec![self.name_path(&doc.owner_id, &doc.parent, &name)];
                if !doc.parent.is_empty() {
                    paths.push(self.path(FOLDERS, &doc.parent));
                }
                self.rpc.get(&paths, Some(tx), false).await?.1
            }
        };
        // A folder deleted while the upload went on takes it with it.
        if !doc.parent.is_empty() && found.get(1).is_none_or(Option::is_none) {
            return Err(Error::not_found("folder").into());
        }
        match found[0].as_ref().map(decode::<NameDoc>).transpose()? {
            None => return Ok(Claim { name, replaces: None }),
            Some(h) if h.id == doc.id => return Ok(Claim { name, replaces: None }),
            Some(h) if h.kind == "file" && on_conflict == OnConflict::Replace => {
                let paths = [self.path(FILES, &h.id), self.path(FILE_REFS, &h.id)];
                let (_, old) = self.rpc.get(&paths, Some(tx), false).await?;
                let Some(old_doc) = old[0].as_ref().map(decode::<FileDoc>).transpose()? else {
                    // Held by a file that is gone: the name is free.
                    return Ok(Claim { name, replaces: None });
                };
                let refs = old[1].as_ref().map(decode::<FileRefsDoc>).transpose()?.unwrap_or_default();
                return Ok(Claim { name, replaces: Some((old_doc, refs)) });
            }
            Some(_) => {}
        }
        let mut n = 2;
        while n <= 10_000 {
            let batch: Vec<FileName> = (n..n + 50).map(|k| name.numbered(k)).collect();
            let paths: Vec<String> = batch.iter().map(|c| self.name_path(&doc.owner_id, &doc.parent, c)).collect();
            let (_, held) = self.rpc.get(&paths, Some(tx), false).await?;
            if let Some(i) = held.iter().position(Option::is_none) {
                return Ok(Claim { name: batch[i].clone(), replaces: None });
            }
            n += 50;
        }
        Err(Error::NameTaken { name: name.as_str().to_owned() }.into())
    }

    /// Every folder inside `id` (not itself).
    async fn folder_docs_below(&self, owner: &str, id: &str) -> Result<Vec<FolderDoc>> {
        let docs = self
            .query(
                FOLDERS,
                |f| f.for_all([f.field("owner_id").eq(owner), f.field("ancestors").array_contains(id)]),
                vec![],
                None,
                None,
            )
            .await?;
        docs.iter().map(decode::<FolderDoc>).collect()
    }

    /// The folders `filter` picks, by name.
    async fn folders_by_name(
        &self,
        filter: impl Fn(
            ::firestore::select_filter_builder::FirestoreQueryFilterBuilder,
        ) -> Option<::firestore::FirestoreQueryFilter>,
    ) -> Result<Vec<Folder>> {
        let order =
            vec![("name_key", FirestoreQueryDirection::Ascending), ("__name__", FirestoreQueryDirection::Ascending)];
        let docs = self.query(FOLDERS, filter, order, None, None).await?;
        docs.iter().map(|d| decode::<FolderDoc>(d)?.folder()).collect()
    }

    /// Rolls `tx` back and fails with `e`.
    async fn refuse<T>(&self, tx: TxId, e: Error) -> Result<T, TxFail> {
        self.rpc.rollback(tx).await;
        Err(e.into())
    }
}

#[async_trait]
impl FolderStore for FirestoreStore {
    async fn create_folder(&self, folder: &Folder) -> Result<()> {
        let owner = folder.owner_id.as_str();
        let parent = folder.parent.as_ref().map(|p| p.to_string()).unwrap_or_default();
        let name = self.name_path(owner, &parent, &folder.name);
        let path = self.path(FOLDERS, folder.id.as_str());
        self.rpc
            .transact(|| async {
                let mut paths = vec![name.clone()];
                paths.extend(folder.parent.as_ref().map(|p| self.path(FOLDERS, p.as_str())));
                let (tx, found) = self.rpc.get(&paths, None, true).await?;
                let tx = tx.unwrap_or_default();
                let (mut ancestors, mut viewers) = (Vec::new(), Vec::new());
                if folder.parent.is_some() {
                    let p = match owned_folder_doc(found[1].as_ref(), &folder.owner_id) {
                        Ok(p) => p,
                        Err(e) => return self.refuse(tx, e).await,
                    };
                    ancestors = p.ancestors.clone();
                    ancestors.push(p.id);
                    viewers = p.viewers;
                    if ancestors.len() >= MAX_FOLDER_DEPTH {
                        return self.refuse(tx, too_deep()).await;
                    }
                }
                if found[0].is_some() {
                    return self.refuse(tx, Error::NameTaken { name: folder.name.as_str().to_owned() }).await;
                }
                let writes = vec![
                    rpc::create(&path, &FolderDoc::from(folder, ancestors, viewers))?,
                    rpc::set(&name, &NameDoc { kind: "folder".into(), id: folder.id.to_string() })?,
                ];
                self.rpc.commit(Some(tx), writes).await
            })
            .await
    }

    async fn folder(&self, id: &FolderId) -> Result<Option<Folder>> {
        self.get_one::<FolderDoc>(FOLDERS, id.as_str()).await?.map(|d| d.folder()).transpose()
    }

    async fn folder_path(&self, id: &FolderId) -> Result<Vec<Folder>> {
        let Some(doc) = self.get_one::<FolderDoc>(FOLDERS, id.as_str()).await? else { return Ok(vec![]) };
        let mut path = Vec::with_capacity(doc.ancestors.len() + 1);
        if !doc.ancestors.is_empty() {
            let paths: Vec<String> = doc.ancestors.iter().map(|a| self.path(FOLDERS, a)).collect();
            let (_, found) = self.rpc.get(&paths, None, false).await.map_err(done)?;
            for d in found.iter().flatten() {
                path.push(decode::<FolderDoc>(d)?.folder()?);
            }
        }
        path.push(doc.folder()?);
        Ok(path)
    }

    async fn folders_of(&self, owner: &UserId, limit: u64) -> Result<Vec<Folder>> {
        let docs = self
            .query(
                FOLDERS,
                |f| f.field("owner_id").eq(owner.as_str()),
                vec![("updated_at", FirestoreQueryDirection::Descending)],
                None,
                Some(limit),
            )
            .await?;
        docs.iter().map(|d| decode::<FolderDoc>(d)?.folder()).collect()
    }

    async fn folders_in(&self, owner: &UserId, parent: Option<&FolderId>) -> Result<Vec<Folder>> {
        let parent = parent.map(|p| p.to_string()).unwrap_or_default();
        self.folders_by_name(|f| {
            f.for_all([f.field("owner_id").eq(owner.as_str()), f.field("parent").eq(parent.as_str())])
        })
        .await
    }

    async fn folders_below(&self, folder: &Folder) -> Result<Vec<Folder>> {
        let below = self.folder_docs_below(folder.owner_id.as_str(), folder.id.as_str()).await?;
        below.iter().map(FolderDoc::folder).collect()
    }

    async fn ready_files_in(&self, owner: &UserId, folders: &[FolderId]) -> Result<Vec<FileRecord>> {
        let mut files = Vec::new();
        // `in` takes at most 30 values.
        for chunk in folders.chunks(30) {
            let parents: Vec<String> = chunk.iter().map(|d| d.to_string()).collect();
            let docs = self
                .query(
                    FILES,
                    |f| {
                        f.for_all([
                            f.field("owner_id").eq(owner.as_str()),
                            f.field("parent").is_in(parents.clone()),
                            f.field("status").eq(FileStatus::Ready.as_str()),
                        ])
                    },
                    vec![],
                    None,
                    None,
                )
                .await?;
            for d in &docs {
                files.push(decode::<FileDoc>(d)?.record()?);
            }
        }
        Ok(files)
    }

    async fn entry_named(&self, owner: &UserId, parent: Option<&FolderId>, name: &FileName) -> Result<Option<Entry>> {
        let parent = parent.map(|p| p.to_string()).unwrap_or_default();
        let Some(held) = self.get_one::<NameDoc>(NAMES, &name_id(owner.as_str(), &parent, &name.key())).await? else {
            return Ok(None);
        };
        Ok(match held.kind.as_str() {
            "folder" => self.folder(&FolderId::parse(&held.id)?).await?.map(Entry::Folder),
            _ => self
                .get_one::<FileDoc>(FILES, &held.id)
                .await?
                .filter(|d| d.status == FileStatus::Ready.as_str())
                .map(|d| d.record())
                .transpose()?
                .map(Entry::File),
        })
    }

    async fn place_folder(
        &self,
        folder: &Folder,
        name: &FileName,
        parent: Option<&FolderId>,
        at: Timestamp,
    ) -> Result<Folder> {
        let owner = folder.owner_id.as_str();
        let parent_id = parent.map(|p| p.to_string()).unwrap_or_default();
        let path = self.path(FOLDERS, folder.id.as_str());
        let new_name = self.name_path(owner, &parent_id, name);
        if parent == Some(&folder.id) {
            return Err(Error::InvalidMove(format!("“{}” cannot go inside itself", folder.name.as_str())));
        }
        // The tree is found before the transaction (a query), then the
        // transaction reads its first MOVE_BATCH folders again, so that a
        // share, unshare or link made on one of them meanwhile makes the
        // move start over rather than be computed from what it was. Past
        // that, and for a folder made inside the tree while it moves, there
        // is a window; the rewrites below touch only `ancestors` and
        // `viewers`, so they never drop a reader, invitation or link.
        // (Whether it moves is decided by the folder as the transaction
        // reads it, not as the caller last saw it.)
        let below = self.folder_docs_below(owner, folder.id.as_str()).await?;
        let (placed, rewrites) = self
            .rpc
            .transact(|| async {
                let mut paths = vec![path.clone(), new_name.clone()];
                paths.extend(parent.map(|p| self.path(FOLDERS, p.as_str())));
                let first_below = paths.len();
                paths.extend(self.tree_paths(&below));
                let (tx, found) = self.rpc.get(&paths, None, true).await?;
                let tx = tx.unwrap_or_default();
                let current = match owned_folder_doc(found[0].as_ref(), &folder.owner_id) {
                    Ok(d) => d,
                    Err(e) => return self.refuse(tx, e).await,
                };
                let (mut ancestors, mut above) = (Vec::new(), Vec::new());
                if parent.is_some() {
                    let p = match owned_folder_doc(found[2].as_ref(), &folder.owner_id) {
                        Ok(p) => p,
                        Err(e) => return self.refuse(tx, e).await,
                    };
                    if p.id == current.id || p.ancestors.contains(&current.id) {
                        let e = Error::InvalidMove(format!(
                            "“{}” cannot go inside itself or a folder within it",
                            current.name
                        ));
                        return self.refuse(tx, e).await;
                    }
                    ancestors = p.ancestors.clone();
                    ancestors.push(p.id);
                    above = p.viewers;
                }
                let below = tree_as_read(&current.id, &found[first_below..], &below)?;
                let old_depth = current.ancestors.len();
                let deepest = below.iter().map(|d| d.ancestors.len() + 1).max().unwrap_or(old_depth + 1);
                if deepest - old_depth + ancestors.len() > MAX_FOLDER_DEPTH {
                    return self.refuse(tx, too_deep()).await;
                }
                if let Some(h) = found[1].as_ref().map(decode::<NameDoc>).transpose()? {
                    if h.id != current.id {
                        return self.refuse(tx, Error::NameTaken { name: name.as_str().to_owned() }).await;
                    }
                }
                let placed =
                    Folder { name: name.clone(), parent: parent.cloned(), updated_at: at, ..current.folder()? };
                let old_name = self.name_path(owner, &current.parent, &FileName::parse(&current.name)?);
                let mut writes: Vec<Write> = Vec::new();
                if old_name != new_name {
                    writes.push(rpc::delete(&old_name));
                }
                writes.push(rpc::set(&new_name, &NameDoc { kind: "folder".into(), id: current.id.clone() })?);
                // It and the folders below see what their new place sees.
                let viewers = inherit(&current, &above, &below);
                let moved_doc = FolderDoc {
                    name: name.as_str().to_owned(),
                    name_key: name.key(),
                    parent: parent_id.clone(),
                    ancestors: ancestors.clone(),
                    viewers: viewers[&current.id].clone(),
                    updated_at: at,
                    ..current.clone()
                };
                writes.push(rpc::set(&path, &moved_doc)?);
                // The folders below keep what is below the moved one and
                // take its new ancestors above it.
                let mut rewrites: Vec<Write> = Vec::new();
                for d in &below {
                    let mut moved = ancestors.clone();
                    moved.extend(d.ancestors.iter().skip(old_depth).cloned());
                    let place = Placement { ancestors: moved, viewers: viewers[&d.id].clone() };
                    rewrites.push(rpc::patch(&self.path(FOLDERS, &d.id), &place)?);
                }
                let later = if rewrites.len() > MOVE_BATCH { rewrites.split_off(MOVE_BATCH) } else { vec![] };
                writes.extend(rewrites);
                self.rpc.commit(Some(tx), writes).await?;
                Ok((placed, later))
            })
            .await?;
        for chunk in rewrites.chunks(MOVE_BATCH) {
            self.rpc.commit(None, chunk.to_vec()).await.map_err(done)?;
        }
        Ok(placed)
    }

    async fn delete_folder(&self, folder: &Folder) -> Result<Option<DeletedTree>> {
        self.delete_tree(folder).await
    }
}

impl FirestoreStore {
    /// Writes that need not be one transaction, in order, in as few commits
    /// as Firestore's limit allows (a file or folder with hundreds of links
    /// would pass it in a commit of a fixed number of them).
    async fn commit_in_parts(&self, writes: Vec<Write>) -> Result<()> {
        for part in writes.chunks(rpc::MAX_WRITES) {
            self.rpc.commit(None, part.to_vec()).await.map_err(done)?;
        }
        Ok(())
    }

    async fn delete_tree(&self, folder: &Folder) -> Result<Option<DeletedTree>> {
        let owner = folder.owner_id.as_str();
        let Some(top) = self.get_one::<FolderDoc>(FOLDERS, folder.id.as_str()).await? else { return Ok(None) };
        if top.owner_id != owner {
            return Ok(None);
        }
        let mut docs = vec![top];
        let mut below = self.folder_docs_below(owner, folder.id.as_str()).await?;
        below.sort_by_key(|d| d.ancestors.len());
        docs.extend(below);
        let ids: Vec<String> = docs.iter().map(|d| d.id.clone()).collect();
        let mut files: Vec<FileDoc> = Vec::new();
        for chunk in ids.chunks(30) {
            let found = self
                .query(
                    FILES,
                    |f| f.for_all([f.field("owner_id").eq(owner), f.field("parent").is_in(chunk.to_vec())]),
                    vec![],
                    None,
                    None,
                )
                .await?;
            for d in &found {
                files.push(decode::<FileDoc>(d)?);
            }
        }
        let mut tree = DeletedTree::default();
        for batch in files.chunks(DELETE_BATCH) {
            let paths: Vec<String> = batch.iter().map(|f| self.path(FILE_REFS, &f.id)).collect();
            let (_, refs) = self.rpc.get(&paths, None, false).await.map_err(done)?;
            let mut writes = Vec::new();
            let mut bytes = 0;
            for (f, r) in batch.iter().zip(&refs) {
                let r: FileRefsDoc = r.as_ref().map(decode).transpose()?.unwrap_or_default();
                // One usage write per commit, for all its files.
                writes.extend(self.file_deletion(f, &r, true));
                bytes += f.size;
                tree.files.push((f.record()?, f.reader_ids()));
            }
            writes.push(self.usage_change(owner, -bytes));
            self.commit_in_parts(writes).await?;
        }
        // Innermost first; each folder's invitations and links before it.
        let mut writes = Vec::new();
        for d in docs.iter().rev() {
            writes.extend(d.invitations.iter().map(|i| rpc::delete(&self.path(FOLDER_INVITATIONS, i))));
            writes.extend(d.links.iter().map(|l| rpc::delete(&self.path(LINKS, l))));
            writes.push(rpc::delete(&self.name_path(owner, &d.parent, &FileName::parse(&d.name)?)));
            writes.push(rpc::delete(&self.path(FOLDERS, &d.id)));
        }
        self.commit_in_parts(writes).await?;
        tree.folders = docs.iter().map(|d| d.folder()).collect::<Result<_>>()?;
        Ok(Some(tree))
    }
}

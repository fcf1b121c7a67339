//! A folder's archive: what "download all as ZIP" holds, page by page,
//! with a signed URL for each file's bytes.
//!
//! The archive is built where it is saved (the browser, the CLI), from the
//! files' signed URLs, so its bytes never pass through a Vercel function
//! and no server holds it. This module only says what goes in it, in the
//! order it is written:
//! depth first; in each folder its files, then its folders, each by
//! `FileName::key` (the order is decided here, not by a store's collation,
//! so both backends give the same one).
//!
//! A page's cursor is the path of the entry before it, not an offset:
//! a file added, renamed or deleted while a long download runs moves
//! nothing that is already listed, and no entry is listed twice (a ZIP with
//! one name twice unpacks to one file, silently). Asking for a page by the
//! same cursor again gives it again with fresh URLs: that is how a client
//! re-signs URLs that expired while earlier files were downloading.

use std::cmp::Ordering;
use std::collections::HashMap;

use futures_util::future::BoxFuture;
use jiff::Timestamp;
use serde::Serialize;

use super::Service;
use crate::domain::{Activity, ActivityKind, FileId, FileRecord, FileStatus, Folder, FolderId, User, UserId};
use crate::error::{Error, Result};

/// Entries per page: each file's signed URL is good for
/// `download_url_ttl` (minutes), so a page is what a client fetches well
/// within that, and its answer stays far below Vercel's 4.5 MB.
pub const ARCHIVE_PAGE: usize = 200;

/// The longest cursor taken, in characters (as the schema counts them):
/// past a path of `MAX_FOLDER_DEPTH + 1` names of 255 bytes.
const MAX_CURSOR_CHARS: usize = 16 * 1024;

#[derive(Debug, Serialize)]
pub struct ArchivePage {
    /// The folder's name: entries go under "<name>/" in the archive.
    pub name: String,
    pub entries: Vec<ArchiveEntry>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ArchiveEntry {
    Folder {
        /// Names from the archived folder down, joined by "/"; every name
        /// is a `FileName` (no slash, never "." or ".."), so no entry can
        /// point outside the archive's folder.
        path: String,
        updated_at: Timestamp,
    },
    File {
        path: String,
        file_id: String,
        size: u64,
        updated_at: Timestamp,
        url: String,
        expires_at: Timestamp,
    },
}

/// Where the previous page ended: the last entry's names, and whether it
/// was a folder. Written "f:" (a file) or "d:" (a folder), then the names
/// joined by "/", which no name holds. Any such string is a place in the
/// order, whether or not the names exist (any more): the walk only
/// compares keys with it, so there is nothing to validate but its form.
#[derive(Debug)]
struct Cursor {
    path: Vec<String>,
    folder: bool,
}

impl Cursor {
    fn encode(&self) -> String {
        format!("{}:{}", if self.folder { 'd' } else { 'f' }, self.path.join("/"))
    }

    fn decode(s: &str) -> Result<Self> {
        if s.chars().count() > MAX_CURSOR_CHARS {
            return Err(Error::InvalidRequest(format!("cursor is longer than {MAX_CURSOR_CHARS} characters")));
        }
        let (folder, path) = match s.split_at_checked(2) {
            Some(("d:", p)) => (true, p),
            Some(("f:", p)) => (false, p),
            _ => return Err(Error::InvalidRequest("cursor is not one this folder's archive gave".into())),
        };
        Ok(Cursor { path: path.split('/').map(str::to_owned).collect(), folder })
    }

    /// The key of the cursor's name at `depth`.
    fn key(&self, depth: usize) -> Option<String> {
        self.path.get(depth).map(|n| n.to_lowercase())
    }
}

/// The detail of the activity record of a folder downloaded as a ZIP.
pub const ZIP_DETAIL: &str = "zip";

/// Folders whose files one store call reads: Firestore's `in` takes 30.
const FILES_BATCH: usize = 30;

/// A page being filled, and where the walk is. The folder's whole tree
/// is read first, in one call; files are read as the walk reaches their
/// folders, `FILES_BATCH` folders at a time, so a page costs a few round
/// trips in the cloud, not two a folder.
struct Walk<'a> {
    service: &'a Service,
    owner: UserId,
    after: Option<Cursor>,
    /// Each folder's folders, by key.
    children: HashMap<FolderId, Vec<Folder>>,
    /// Every folder of the tree, in the order the walk reaches them.
    order: Vec<FolderId>,
    /// Each folder's ready files, by key, once read.
    files: HashMap<FolderId, Vec<FileRecord>>,
    entries: Vec<ArchiveEntry>,
    last: Option<Cursor>,
}

impl<'a> Walk<'a> {
    async fn new(service: &'a Service, root: &Folder, after: Option<Cursor>) -> Result<Walk<'a>> {
        let below = service.store.folders_below(root).await?;
        Ok(Self::of_tree(service, root.owner_id.clone(), root.id.clone(), below, HashMap::new(), after))
    }

    /// The walk from `root` through `below` (folders under it, each with
    /// its parent), with the files of some folders known already.
    fn of_tree(
        service: &'a Service,
        owner: UserId,
        root: FolderId,
        below: Vec<Folder>,
        files: HashMap<FolderId, Vec<FileRecord>>,
        after: Option<Cursor>,
    ) -> Walk<'a> {
        let mut children: HashMap<FolderId, Vec<Folder>> = HashMap::new();
        for d in below {
            if let Some(p) = d.parent.clone() {
                children.entry(p).or_default().push(d);
            }
        }
        for list in children.values_mut() {
            list.sort_by_cached_key(|d| d.name.key());
        }
        let mut order = Vec::new();
        let mut stack = vec![root];
        while let Some(id) = stack.pop() {
            if let Some(list) = children.get(&id) {
                stack.extend(list.iter().rev().map(|d| d.id.clone()));
            }
            order.push(id);
        }
        Walk { service, owner, after, children, order, files, entries: Vec::new(), last: None }
    }

    fn full(&self) -> bool {
        self.entries.len() >= ARCHIVE_PAGE
    }

    fn push(&mut self, entry: ArchiveEntry, names: Vec<String>, folder: bool) {
        self.entries.push(entry);
        self.last = Some(Cursor { path: names, folder });
    }

    /// The ready files directly in `folder`, by key: read with those of
    /// the folders the walk reaches next.
    async fn take_files(&mut self, folder: &FolderId) -> Result<Vec<FileRecord>> {
        if !self.files.contains_key(folder) {
            let from = self.order.iter().position(|d| d == folder).unwrap_or(self.order.len());
            let mut batch: Vec<FolderId> = vec![folder.clone()];
            batch.extend(
                self.order[from..]
                    .iter()
                    .filter(|d| *d != folder && !self.files.contains_key(*d))
                    .take(FILES_BATCH - 1)
                    .cloned(),
            );
            for d in &batch {
                self.files.insert(d.clone(), Vec::new());
            }
            for f in self.service.store.ready_files_in(&self.owner, &batch).await? {
                if let Some(list) = f.folder_id.clone().and_then(|d| self.files.get_mut(&d)) {
                    list.push(f);
                }
            }
            for d in &batch {
                if let Some(list) = self.files.get_mut(d) {
                    list.sort_by_cached_key(|f| f.name.key());
                }
            }
        }
        Ok(self.files.remove(folder).unwrap_or_default())
    }

    /// Lists what is in `folder` (at `names` from the archived one) into
    /// the page, from after the cursor while `resuming` (the cursor's path
    /// starts with `names`), until the page is full.
    fn visit<'b>(&'b mut self, folder: FolderId, names: Vec<String>, resuming: bool) -> BoxFuture<'b, Result<()>> {
        Box::pin(async move {
            let depth = names.len();
            // How the cursor's name at this depth places each name here.
            let (cursor_key, cursor_here_is_file, cursor_deeper) = match (&self.after, resuming) {
                (Some(c), true) => (c.key(depth), c.path.len() == depth + 1 && !c.folder, c.path.len() > depth + 1),
                _ => (None, false, false),
            };
            let after_cursor = |key: &str| cursor_key.as_deref().is_none_or(|c| key.cmp(c) == Ordering::Greater);

            // Files come before folders: if the cursor stopped at a folder
            // here, or below one, every file here was listed already.
            let files_listed = cursor_key.is_some() && !cursor_here_is_file;
            if !files_listed {
                for f in self.take_files(&folder).await? {
                    if self.full() {
                        return Ok(());
                    }
                    if !after_cursor(&f.name.key()) {
                        continue;
                    }
                    let url = self.service.sign_get(&f, false)?;
                    let mut path = names.clone();
                    path.push(f.name.as_str().to_owned());
                    let entry = ArchiveEntry::File {
                        path: path.join("/"),
                        file_id: f.id.to_string(),
                        size: f.size,
                        updated_at: f.updated_at,
                        url: url.url,
                        expires_at: url.expires_at,
                    };
                    self.push(entry, path, false);
                }
            }

            for d in self.children.get(&folder).cloned().unwrap_or_default() {
                if self.full() {
                    return Ok(());
                }
                let mut path = names.clone();
                path.push(d.name.as_str().to_owned());
                let (listed, inside) = match cursor_key.as_deref().map(|c| d.name.key().as_str().cmp(c)) {
                    // Before the cursor: listed with everything in it.
                    Some(Ordering::Less) => continue,
                    // The cursor's folder: listed itself, and the cursor
                    // is in it if it goes deeper.
                    Some(Ordering::Equal) if !cursor_here_is_file => (true, cursor_deeper),
                    _ => (false, false),
                };
                if !listed {
                    self.push(
                        ArchiveEntry::Folder { path: path.join("/"), updated_at: d.updated_at },
                        path.clone(),
                        true,
                    );
                }
                self.visit(d.id.clone(), path, inside).await?;
            }
            Ok(())
        })
    }
}

impl Service {
    /// A page of what a ZIP of the folder holds, for its owner or anyone
    /// it is shared with (it or a folder above it); anyone else's folder is
    /// "not found". `cursor`: the previous page's `next_cursor`.
    ///
    /// The first page starts a download: the owner's log records it once
    /// ("downloaded Trip as ZIP"), however many files and pages follow.
    /// `again` asks for a page a second time, only to sign its URLs
    /// afresh, and records nothing.
    pub async fn archive_page(
        &self,
        user: &User,
        id: &FolderId,
        cursor: Option<&str>,
        again: bool,
    ) -> Result<ArchivePage> {
        let root: Folder = self.visible_folder(user, id).await?;
        let page = self.archive_of(&root, cursor).await?;
        if cursor.is_none() && !again {
            let a = Activity {
                detail: Some(ZIP_DETAIL.into()),
                ..Self::folder_activity(&root, ActivityKind::Downloaded, Some(user))
            };
            let _w = self.gate.read().await;
            self.store.append_activity(&a).await?;
            self.feed.publish(vec![Self::activity_change(&a)]);
        }
        Ok(page)
    }

    /// The page of `root`'s archive after `cursor`, whoever asks.
    pub(super) async fn archive_of(&self, root: &Folder, cursor: Option<&str>) -> Result<ArchivePage> {
        let after = cursor.map(Cursor::decode).transpose()?;
        let walk = Walk::new(self, root, after).await?;
        Self::walked(walk, root.id.clone(), root.name.as_str().to_owned()).await
    }

    async fn walked(mut walk: Walk<'_>, root: FolderId, name: String) -> Result<ArchivePage> {
        let resuming = walk.after.is_some();
        walk.visit(root, Vec::new(), resuming).await?;
        let next_cursor = if walk.full() { walk.last.as_ref().map(Cursor::encode) } else { None };
        Ok(ArchivePage { name, entries: walk.entries, next_cursor })
    }

    /// A page of what a ZIP of some files and folders of one folder holds
    /// (or of the top of the caller's own files): the selected files, then
    /// each selected folder with everything in it, as the folder's own
    /// archive would hold them, under the selection. Anyone who sees the
    /// folder may; an item they cannot see, or one elsewhere, is refused
    /// (not found, or "not in one folder"), and so is a file still
    /// uploading. The first page is logged once as a download of the
    /// folder ("downloaded 3 items from Trip as ZIP"); at the top, where
    /// only their owner can select, nothing is logged.
    pub async fn selection_archive(
        &self,
        user: &User,
        selection: &Selection,
        cursor: Option<&str>,
        again: bool,
    ) -> Result<ArchivePage> {
        let after = cursor.map(Cursor::decode).transpose()?;
        let count = selection.files.len() + selection.folders.len();
        if count == 0 || count > MAX_SELECTION {
            return Err(Error::InvalidRequest(format!(
                "a selection holds 1 to {MAX_SELECTION} files and folders; this one holds {count}"
            )));
        }
        // Where the selection is: the folder of its first item (or the top).
        let (owner, parent) = match (selection.files.first(), selection.folders.first()) {
            (Some(f), _) => {
                let f = self.store.file(f).await?.ok_or(Error::not_found("file"))?;
                (f.owner_id, f.folder_id)
            }
            (None, Some(d)) => {
                let d = self.store.folder(d).await?.ok_or(Error::not_found("folder"))?;
                (d.owner_id, d.parent)
            }
            (None, None) => unreachable!("the count is at least 1"),
        };
        let parent = match &parent {
            Some(p) => Some(self.visible_folder(user, p).await?),
            None if owner == user.id => None,
            None => return Err(Error::not_found("file")),
        };
        let not_here = || Error::InvalidRequest("every file and folder of a selection must be in one folder".into());

        // What is in the folder, by id, to check each item against.
        let mut here = HashMap::new();
        let mut offset = 0;
        loop {
            let q = crate::store::FileQuery {
                user: owner.clone(),
                scope: crate::store::Scope::Mine,
                within: parent
                    .as_ref()
                    .map_or(crate::store::Within::Top, |p| crate::store::Within::Folder(p.id.clone())),
                uploading: true,
                sort: crate::store::SortKey::Name,
                descending: false,
                offset,
                limit: 1000,
            };
            let page = self.store.list_files(&q).await?;
            here.extend(page.items.into_iter().map(|f| (f.id.clone(), f)));
            match page.next_offset {
                Some(o) => offset = o,
                None => break,
            }
        }
        let mut files = Vec::new();
        for id in &selection.files {
            match here.get(id) {
                Some(f) if f.status != FileStatus::Ready => return Err(Error::FileNotReady),
                Some(f) => files.push(f.clone()),
                None if self.store.file(id).await?.is_some_and(|f| f.owner_id == owner) => return Err(not_here()),
                None => return Err(Error::not_found("file")),
            }
        }
        files.sort_by_cached_key(|f| f.name.key());
        files.dedup_by(|a, b| a.id == b.id);

        // The selected folders, and the trees under them.
        let root = FolderId::generate();
        let mut below = Vec::new();
        let tree = match &parent {
            Some(p) => self.store.folders_below(p).await?,
            None => self.store.folders_in(&owner, None).await?,
        };
        let mut chosen = Vec::new();
        for id in &selection.folders {
            match tree.iter().find(|d| &d.id == id && d.parent == parent.as_ref().map(|p| p.id.clone())) {
                Some(d) if !chosen.contains(&d.id) => chosen.push(d.id.clone()),
                Some(_) => {}
                None if self.store.folder(id).await?.is_some_and(|d| d.owner_id == owner) => return Err(not_here()),
                None => return Err(Error::not_found("folder")),
            }
        }
        for d in &chosen {
            let top = tree.iter().find(|t| &t.id == d).cloned().ok_or(Error::not_found("folder"))?;
            // Under the top of the owner's files, each tree is read on its own.
            let own = match &parent {
                Some(_) => None,
                None => Some(self.store.folders_below(&top).await?),
            };
            below.extend(subtree(own.as_deref().unwrap_or(&tree), d));
            below.push(Folder { parent: Some(root.clone()), ..top });
        }

        let name = parent.as_ref().map_or_else(|| "My files".to_owned(), |p| p.name.as_str().to_owned());
        let selected = HashMap::from([(root.clone(), files.clone())]);
        let walk = Walk::of_tree(self, owner, root.clone(), below, selected, after);
        let page = Self::walked(walk, root, name).await?;
        if let (Some(p), None, false) = (&parent, cursor, again) {
            let items = match files.len() + chosen.len() {
                1 => "1 item".to_owned(),
                n => format!("{n} items"),
            };
            let a = Activity {
                detail: Some(ZIP_DETAIL.into()),
                file_name: format!("{items} from {}", p.name.as_str()),
                ..Self::folder_activity(p, ActivityKind::Downloaded, Some(user))
            };
            let _w = self.gate.read().await;
            self.store.append_activity(&a).await?;
            self.feed.publish(vec![Self::activity_change(&a)]);
        }
        Ok(page)
    }
}

/// The most files and folders one selection holds.
pub const MAX_SELECTION: usize = 1000;

/// What a person selected to download as one ZIP: files and folders of one folder.
#[derive(Debug, Default)]
pub struct Selection {
    pub files: Vec<FileId>,
    pub folders: Vec<FolderId>,
}

/// The folders of `tree` below `top`, at any depth.
fn subtree(tree: &[Folder], top: &FolderId) -> Vec<Folder> {
    let mut out = Vec::new();
    let mut stack = vec![top.clone()];
    while let Some(id) = stack.pop() {
        for d in tree.iter().filter(|d| d.parent.as_ref() == Some(&id)) {
            stack.push(d.id.clone());
            out.push(d.clone());
        }
    }
    out
}

//! Folders: one owner's tree. Create, list, rename, move, and delete with
//! everything in it; names are unique within a folder (`FolderStore`).

use serde::Serialize;

use super::{SNAPSHOT_LIMIT, Service, now};
use crate::domain::{FileName, Folder, FolderId, User};
use crate::error::{Error, Result};
use crate::feed::{Change, ChangeKind, Collection};
use crate::store::{Entry, MAX_FOLDER_DEPTH};

/// A folder as its page shows it.
#[derive(Debug, Serialize)]
pub struct FolderView {
    pub folder: Folder,
    /// The folders above it, the top first: its breadcrumbs.
    pub path: Vec<Folder>,
}

/// A change to a folder's name or place; `None` keeps what it is.
#[derive(Debug, Default)]
pub struct FolderChange {
    pub name: Option<FileName>,
    /// `Some(None)`: to the top.
    pub parent: Option<Option<FolderId>>,
}

/// What deleting a folder removed.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct DeletedFolder {
    pub folders: u64,
    pub files: u64,
}

impl Service {
    /// The folder if `user` owns it; anyone else's is "not found".
    pub(super) async fn owned_folder(&self, user: &User, id: &FolderId) -> Result<Folder> {
        match self.store.folder(id).await? {
            Some(f) if f.owner_id == user.id => Ok(f),
            _ => Err(Error::not_found("folder")),
        }
    }

    /// The folder's name for an activity line, "" for the top.
    pub(super) async fn folder_label(&self, user: &User, id: Option<&FolderId>) -> Result<String> {
        Ok(match id {
            Some(id) => self.owned_folder(user, id).await?.name.as_str().to_owned(),
            None => String::new(),
        })
    }

    pub(super) async fn all_folders(&self, user: &User) -> Result<Vec<Folder>> {
        self.store.folders_of(&user.id, SNAPSHOT_LIMIT).await
    }

    fn folder_change(f: &Folder, kind: ChangeKind) -> Change {
        Change {
            user: f.owner_id.clone(),
            collection: Collection::Folders,
            kind,
            id: f.id.to_string(),
            doc: if kind == ChangeKind::Removed { None } else { super::doc(f) },
        }
    }

    pub async fn create_folder(&self, user: &User, parent: Option<FolderId>, name: FileName) -> Result<Folder> {
        let at = now();
        let folder = Folder {
            id: FolderId::generate(),
            owner_id: user.id.clone(),
            name,
            parent,
            created_at: at,
            updated_at: at,
        };
        let _w = self.gate.read().await;
        self.store.create_folder(&folder).await?;
        self.feed.publish(vec![Self::folder_change(&folder, ChangeKind::Added)]);
        Ok(folder)
    }

    pub async fn folder(&self, user: &User, id: &FolderId) -> Result<FolderView> {
        let mut path = self.store.folder_path(id).await?;
        match path.pop() {
            Some(folder) if folder.owner_id == user.id => Ok(FolderView { folder, path }),
            _ => Err(Error::not_found("folder")),
        }
    }

    /// The owner's folders directly in `parent` (`None`: the top).
    pub async fn folders_in(&self, user: &User, parent: Option<&FolderId>) -> Result<Vec<Folder>> {
        if let Some(p) = parent {
            self.owned_folder(user, p).await?;
        }
        self.store.folders_in(&user.id, parent).await
    }

    pub async fn update_folder(&self, user: &User, id: &FolderId, change: FolderChange) -> Result<Folder> {
        let f = self.owned_folder(user, id).await?;
        let name = change.name.unwrap_or_else(|| f.name.clone());
        let parent = change.parent.unwrap_or_else(|| f.parent.clone());
        if name == f.name && parent == f.parent {
            return Ok(f);
        }
        let _w = self.gate.read().await;
        let placed = self.store.place_folder(&f, &name, parent.as_ref(), now()).await?;
        self.feed.publish(vec![Self::folder_change(&placed, ChangeKind::Modified)]);
        Ok(placed)
    }

    /// Deletes the folder and everything in it: folders, files, and the
    /// files' shares, invitations, links and bytes.
    pub async fn delete_folder(&self, user: &User, id: &FolderId) -> Result<DeletedFolder> {
        let f = self.owned_folder(user, id).await?;
        let _w = self.gate.read().await;
        let Some(tree) = self.store.delete_folder(&f).await? else {
            return Err(Error::not_found("folder"));
        };
        // The records went first: from now on no one can get a URL for the
        // bytes, and a failure below leaves only unreachable bytes, which
        // the sweep removes.
        let mut changes = Vec::new();
        for (file, readers) in &tree.files {
            self.blobs.delete(&file.id).await?;
            if file.status == crate::domain::FileStatus::Ready {
                changes.extend(Self::file_changes(file, ChangeKind::Removed, readers));
            }
        }
        changes.extend(tree.folders.iter().map(|d| Self::folder_change(d, ChangeKind::Removed)));
        self.feed.publish(changes);
        Ok(DeletedFolder { folders: tree.folders.len() as u64, files: tree.files.len() as u64 })
    }

    /// What `path` names among the owner's files: `Trip/day 1/img1.jpg`,
    /// one name per folder, separated by `/`. `None` for the top.
    pub async fn resolve(&self, user: &User, path: &str) -> Result<Option<Entry>> {
        let mut at: Option<Entry> = None;
        let names: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        if names.len() > MAX_FOLDER_DEPTH + 1 {
            return Err(Error::not_found("path"));
        }
        for name in names {
            let parent = match &at {
                None => None,
                Some(Entry::Folder(f)) => Some(f.id.clone()),
                Some(Entry::File(_)) => return Err(Error::not_found("path")),
            };
            let name = FileName::parse(name)?;
            at = Some(self.store.entry_named(&user.id, parent.as_ref(), &name).await?.ok_or(Error::not_found("path"))?);
        }
        Ok(at)
    }
}

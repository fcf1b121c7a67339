//! Folders: one owner's tree. Create, list, rename, move, and delete with
//! everything in it; names are unique within a folder (`FolderStore`).

use std::collections::HashMap;

use serde::Serialize;

use super::{SNAPSHOT_LIMIT, Service, Share, now};
use crate::domain::{Email, FileName, Folder, FolderId, User, UserId};
use crate::error::{Error, Result};
use crate::feed::{Change, ChangeKind, Collection};
use crate::mail::{Postman, letters};
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

    /// The folder if `user` owns it or it is shared with them (it or a
    /// folder above it); anyone else's is "not found".
    pub(super) async fn visible_folder(&self, user: &User, id: &FolderId) -> Result<Folder> {
        match self.store.folder(id).await? {
            Some(f) if f.owner_id == user.id => Ok(f),
            Some(f) if self.store.viewers(id).await?.contains(&user.id) => Ok(f),
            _ => Err(Error::not_found("folder")),
        }
    }

    /// A folder as someone it is shared with sees it change.
    pub(super) fn shared_folder_change(f: &Folder, viewer: &UserId, kind: ChangeKind) -> Change {
        Self::folder_change_for(f, viewer, Collection::SharedFolders, kind)
    }

    /// The folder's change as `user` sees it in `collection`.
    fn folder_change_for(f: &Folder, user: &UserId, collection: Collection, kind: ChangeKind) -> Change {
        Change {
            user: user.clone(),
            collection,
            kind,
            id: f.id.to_string(),
            doc: if kind == ChangeKind::Removed { None } else { super::doc(f) },
        }
    }

    /// A folder's change, for its owner and everyone who sees it.
    async fn folder_changes(&self, f: &Folder, kind: ChangeKind) -> Result<Vec<Change>> {
        let mut changes = vec![Self::folder_change(f, kind)];
        if self.feed.delivers() {
            for v in self.store.viewers(&f.id).await? {
                changes.push(Self::shared_folder_change(f, &v, kind));
            }
        }
        Ok(changes)
    }

    /// The folders shared with `user` themselves: the top of what they see.
    pub async fn shared_folders(&self, user: &User) -> Result<Vec<Folder>> {
        self.store.folders_shared_with(&user.id).await
    }

    /// The owner's view of who a folder is shared with.
    pub async fn folder_shares(&self, user: &User, id: &FolderId) -> Result<Vec<Share>> {
        self.owned_folder(user, id).await?;
        let (people, waiting) = self.store.folder_sharing(id).await?;
        let people =
            people.into_iter().map(|u| Share { email: u.email, user_id: Some(u.id), pending: false, invite_url: None });
        let waiting = waiting.into_iter().map(|email| Share { email, user_id: None, pending: true, invite_url: None });
        Ok(people.chain(waiting).collect())
    }

    /// Shares the folder, and everything in it, with `email`: at once with
    /// an account that has proved the address, else as an invitation (see
    /// `share`).
    pub async fn share_folder(&self, user: &User, id: &FolderId, email: Email) -> Result<Share> {
        if email == user.email {
            return Err(Error::InvalidEmail("you own this folder already".into()));
        }
        let f = self.owned_folder(user, id).await?;
        let _w = self.gate.read().await;
        let at = now();
        let url = |p: &Postman| p.link(&format!("/files/?folder={}", f.id));
        if let Some(to) = self.proved_account(&email).await? {
            if self.store.share_folder(&f, &to.id, at).await? {
                self.feed.publish(vec![Self::shared_folder_change(&f, &to.id, ChangeKind::Added)]);
                if let Some(p) = &self.postman {
                    p.post(letters::shared(&email, &user.email, f.name.as_str(), &url(p))).await;
                }
            }
            return Ok(Share { email, user_id: Some(to.id), pending: false, invite_url: None });
        }
        let invited = self.store.invite_to_folder(&f, &email, at).await?;
        let mut invite_url = None;
        match &self.postman {
            Some(p) if invited => {
                let path = self.invitation_path(&email).await?;
                p.post(letters::invited(&email, &user.email, f.name.as_str(), &p.link(&path))).await;
            }
            Some(_) => {}
            None => invite_url = Some(self.invitation_path(&email).await?),
        }
        Ok(Share { email, user_id: None, pending: true, invite_url })
    }

    /// Takes the folder back from `email`: from that person's views at once,
    /// everything in it with it.
    pub async fn unshare_folder(&self, user: &User, id: &FolderId, email: Email) -> Result<()> {
        let f = self.owned_folder(user, id).await?;
        let _w = self.gate.read().await;
        let to = self.store.user_by_email(&email).await?;
        let reader = self
            .store
            .unshare_folder(&f, to.as_ref().map(|u| &u.id), &email)
            .await?
            .ok_or(Error::not_found("share"))?;
        if let (Some(u), true, true) = (to, reader, self.feed.delivers()) {
            // Through another share above it they may still see it. (In the
            // cloud nothing is published: listeners follow Firestore, so no
            // round trip is spent to find out.)
            if !self.store.viewers(&f.id).await?.contains(&u.id) {
                self.feed.publish(vec![Self::shared_folder_change(&f, &u.id, ChangeKind::Removed)]);
            }
        }
        Ok(())
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
        Self::folder_change_for(f, &f.owner_id, Collection::Folders, kind)
    }

    pub async fn create_folder(&self, user: &User, parent: Option<FolderId>, name: FileName) -> Result<Folder> {
        let at = now();
        let folder = Folder {
            owner_email: user.email.clone(),
            id: FolderId::generate(),
            owner_id: user.id.clone(),
            name,
            parent,
            created_at: at,
            updated_at: at,
        };
        let _w = self.gate.read().await;
        self.store.create_folder(&folder).await?;
        self.feed.publish(self.folder_changes(&folder, ChangeKind::Added).await?);
        Ok(folder)
    }

    /// The folder and its breadcrumbs: for its owner, every folder above
    /// it; for someone it is shared with, those from the folder shared with
    /// them down.
    pub async fn folder(&self, user: &User, id: &FolderId) -> Result<FolderView> {
        let folder = self.visible_folder(user, id).await?;
        let mut path = self.store.folder_path(id).await?;
        path.pop();
        if folder.owner_id != user.id {
            let shared: Vec<FolderId> =
                self.store.folders_shared_with(&user.id).await?.into_iter().map(|f| f.id).collect();
            let from = path.iter().position(|p| shared.contains(&p.id)).unwrap_or(path.len());
            path.drain(..from);
        }
        Ok(FolderView { folder, path })
    }

    /// The folders directly in `parent`: the top of the user's own, or in
    /// a folder they own or that is shared with them.
    pub async fn folders_in(&self, user: &User, parent: Option<&FolderId>) -> Result<Vec<Folder>> {
        let owner = match parent {
            Some(p) => self.visible_folder(user, p).await?.owner_id,
            None => user.id.clone(),
        };
        self.store.folders_in(&owner, parent).await
    }

    pub async fn update_folder(&self, user: &User, id: &FolderId, change: FolderChange) -> Result<Folder> {
        let f = self.owned_folder(user, id).await?;
        let name = change.name.unwrap_or_else(|| f.name.clone());
        let parent = change.parent.unwrap_or_else(|| f.parent.clone());
        if name == f.name && parent == f.parent {
            return Ok(f);
        }
        let _w = self.gate.read().await;
        let before = if self.feed.delivers() { self.store.viewers(id).await? } else { vec![] };
        let placed = self.store.place_folder(&f, &name, parent.as_ref(), now()).await?;
        let mut changes = self.folder_changes(&placed, ChangeKind::Modified).await?;
        // Moved out of a folder shared with them: gone from their view.
        let after: Vec<&UserId> = changes.iter().skip(1).map(|c| &c.user).collect();
        let gone: Vec<UserId> = before.iter().filter(|u| !after.contains(u)).cloned().collect();
        changes.extend(gone.iter().map(|u| Self::shared_folder_change(&placed, u, ChangeKind::Removed)));
        self.feed.publish(changes);
        Ok(placed)
    }

    /// Deletes the folder and everything in it: folders, files, and the
    /// files' shares, invitations, links and bytes.
    pub async fn delete_folder(&self, user: &User, id: &FolderId) -> Result<DeletedFolder> {
        let f = self.owned_folder(user, id).await?;
        let _w = self.gate.read().await;
        // Who sees each folder of the tree, read while it is there: those
        // who see it from above, and those a folder inside was shared with.
        let viewers = if self.feed.delivers() { self.viewers_below(&f).await? } else { HashMap::new() };
        let Some(tree) = self.store.delete_folder(&f).await? else {
            return Err(Error::not_found("folder"));
        };
        // The records went first: from now on no one can get a URL for the
        // bytes, and a failure below leaves only unreachable bytes, which
        // the sweep removes.
        // A folder made inside meanwhile is seen from the top of the tree.
        let none = Vec::new();
        let seeing = |d: Option<&FolderId>| d.and_then(|d| viewers.get(d)).or_else(|| viewers.get(id)).unwrap_or(&none);
        let mut changes = Vec::new();
        for (file, readers) in &tree.files {
            self.blobs.delete(&file.id).await?;
            if file.status == crate::domain::FileStatus::Ready {
                let mut audience = readers.clone();
                audience.extend(seeing(file.folder_id.as_ref()).iter().filter(|v| !readers.contains(v)).cloned());
                changes.extend(Self::file_changes(file, ChangeKind::Removed, &audience));
            }
        }
        for d in &tree.folders {
            changes.push(Self::folder_change(d, ChangeKind::Removed));
            changes.extend(seeing(Some(&d.id)).iter().map(|v| Self::shared_folder_change(d, v, ChangeKind::Removed)));
        }
        self.feed.publish(changes);
        Ok(DeletedFolder { folders: tree.folders.len() as u64, files: tree.files.len() as u64 })
    }

    /// Everyone who sees each folder of the tree at `root`, by folder:
    /// those who see `root` (from its shares and those above it), and
    /// below, those of the folders on the way down. One read per folder.
    async fn viewers_below(&self, root: &Folder) -> Result<HashMap<FolderId, Vec<UserId>>> {
        let below = self.store.folders_below(root).await?;
        let mut children: HashMap<FolderId, Vec<&Folder>> = HashMap::new();
        for d in &below {
            if let Some(p) = &d.parent {
                children.entry(p.clone()).or_default().push(d);
            }
        }
        let mut seen = HashMap::from([(root.id.clone(), self.store.viewers(&root.id).await?)]);
        let mut next = vec![root.id.clone()];
        while let Some(at) = next.pop() {
            for d in children.get(&at).into_iter().flatten() {
                let mut v = seen[&at].clone();
                let (own, _) = self.store.folder_sharing(&d.id).await?;
                v.extend(own.into_iter().map(|u| u.id).filter(|u| !v.contains(u)).collect::<Vec<_>>());
                seen.insert(d.id.clone(), v);
                next.push(d.id.clone());
            }
        }
        Ok(seen)
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
            // A name that cannot be one names nothing.
            let name = FileName::parse(name).map_err(|_| Error::not_found("path"))?;
            at = Some(self.store.entry_named(&user.id, parent.as_ref(), &name).await?.ok_or(Error::not_found("path"))?);
        }
        Ok(at)
    }
}

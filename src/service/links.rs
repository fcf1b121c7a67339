//! Public links: a token that opens one file, or a folder with everything
//! in it, to anyone who holds it, while the link lasts (expiry, password,
//! download limit; `Link::refusal`).
//!
//! A folder link opens what is in the folder when it is used, not when it
//! was made: a file moved out of it is no longer reachable through it, one
//! moved in is. What the holder may do: list any folder inside it, download
//! or preview any ready file inside it (one download each), and download a
//! folder inside it as a ZIP (one download for the whole archive, however
//! many pages and files it has). Nothing else: not pending files, not who
//! it is shared with, not the folders above it.

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::archive::{ArchivePage, ZIP_DETAIL};
use super::{SignedUrl, now};
use crate::domain::*;
use crate::error::{Error, LinkRefusal, Result};
use crate::store::Linked;

use super::Service;

pub struct NewLink {
    pub expires_in: Option<SignedDuration>,
    pub password: Option<Password>,
    pub max_downloads: Option<u64>,
}

/// A link as its owner sees it: never its token.
#[derive(Debug, Serialize)]
pub struct LinkView {
    pub id: LinkId,
    /// What it opens: a file or a folder (the other is `null`).
    pub file_id: Option<FileId>,
    pub folder_id: Option<FolderId>,
    pub has_password: bool,
    pub expires_at: Option<Timestamp>,
    pub max_downloads: Option<u64>,
    pub downloads: u64,
    pub revoked: bool,
    pub created_at: Timestamp,
}

impl From<&Link> for LinkView {
    fn from(l: &Link) -> Self {
        let (file_id, folder_id) = match &l.target {
            LinkTarget::File(f) => (Some(f.clone()), None),
            LinkTarget::Folder(d) => (None, Some(d.clone())),
        };
        Self {
            id: l.id.clone(),
            file_id,
            folder_id,
            has_password: l.password_hash.is_some(),
            expires_at: l.expires_at,
            max_downloads: l.max_downloads,
            downloads: l.downloads,
            revoked: l.revoked,
            created_at: l.created_at,
        }
    }
}

/// What anyone holding a link may know before using it.
#[derive(Debug, Serialize)]
pub struct PublicLink {
    /// "file" or "folder".
    pub kind: &'static str,
    /// The file's name, or the folder's.
    pub name: FileName,
    /// The file's; `None` for a folder.
    pub size: Option<u64>,
    pub content_type: Option<ContentType>,
    pub password_required: bool,
    pub expires_at: Option<Timestamp>,
    pub downloads_left: Option<u64>,
}

/// A folder as a link's holder sees it: no owner, no sharing, no ids
/// above the linked folder.
#[derive(Debug, Serialize)]
pub struct LinkFolder {
    pub id: FolderId,
    pub name: FileName,
    pub updated_at: Timestamp,
}

#[derive(Debug, Serialize)]
pub struct LinkFile {
    pub id: FileId,
    pub name: FileName,
    pub size: u64,
    pub content_type: ContentType,
    pub updated_at: Timestamp,
}

/// One folder inside a folder link, as its page lists it.
#[derive(Debug, Serialize)]
pub struct LinkListing {
    pub folder: LinkFolder,
    /// From the linked folder down to this one's parent: its breadcrumbs
    /// (empty for the linked folder itself).
    pub path: Vec<LinkFolder>,
    /// By name, as `FileName::key` orders them.
    pub folders: Vec<LinkFolder>,
    /// Ready files only, by name.
    pub files: Vec<LinkFile>,
}

/// A page of a ZIP through a link, with the ticket that asks for the
/// archive's other pages without counting it again.
#[derive(Debug, Serialize)]
pub struct LinkArchivePage {
    #[serde(flatten)]
    pub page: ArchivePage,
    pub ticket: String,
}

/// How long an archive's ticket asks for its pages: a very slow download
/// of a very large folder, resumed the next morning.
const TICKET_LIFETIME: SignedDuration = SignedDuration::from_hours(24);

impl From<&Folder> for LinkFolder {
    fn from(f: &Folder) -> Self {
        Self { id: f.id.clone(), name: f.name.clone(), updated_at: f.updated_at }
    }
}

impl From<&FileRecord> for LinkFile {
    fn from(f: &FileRecord) -> Self {
        Self {
            id: f.id.clone(),
            name: f.name.clone(),
            size: f.size,
            content_type: f.content_type.clone(),
            updated_at: f.updated_at,
        }
    }
}

impl Linked {
    /// The activity record of something done to it.
    fn activity(&self, kind: ActivityKind) -> Activity {
        match self {
            Linked::File(f) => Service::new_activity(f, kind, None, None, None),
            Linked::Folder(d) => Service::folder_activity(d, kind, None),
        }
    }
}

impl Service {
    /// The activity record of something done to a whole folder.
    pub(super) fn folder_activity(d: &Folder, kind: ActivityKind, actor: Option<&User>) -> Activity {
        Activity {
            id: ActivityId::generate(),
            owner_id: d.owner_id.clone(),
            file_id: None,
            folder_id: Some(d.id.clone()),
            file_name: d.name.as_str().to_owned(),
            kind,
            actor_id: actor.map(|u| u.id.clone()),
            actor_email: actor.map(|u| u.email.clone()),
            link_id: None,
            detail: None,
            at: now(),
        }
    }

    /// An activity record about a link, made in the store's transaction
    /// from the link and what it opens as it reads them (or about `file`,
    /// one file of a folder link). The same record each time it is made:
    /// the service announces what was written.
    fn link_activity(
        kind: ActivityKind,
        actor: Option<User>,
        detail: impl Fn(&Link) -> Option<String> + Clone + Send + Sync + 'static,
        file: Option<FileRecord>,
    ) -> impl Fn(&Link, &Linked) -> Activity + Clone + Send + Sync + 'static {
        let (id, at) = (ActivityId::generate(), now());
        move |l, opened| {
            let base = match &file {
                Some(f) => Linked::File(f.clone()).activity(kind),
                None => opened.activity(kind),
            };
            Activity {
                id: id.clone(),
                at,
                detail: detail(l),
                actor_id: actor.as_ref().map(|u| u.id.clone()),
                actor_email: actor.as_ref().map(|u| u.email.clone()),
                link_id: Some(l.id.clone()),
                ..base
            }
        }
    }

    pub async fn create_link(&self, user: &User, id: &FileId, new: NewLink) -> Result<(LinkView, String)> {
        let f = self.owned(user, id).await?;
        Self::ready(&f)?;
        self.make_link(user, Linked::File(f), new).await
    }

    pub async fn create_folder_link(&self, user: &User, id: &FolderId, new: NewLink) -> Result<(LinkView, String)> {
        let d = self.owned_folder(user, id).await?;
        self.make_link(user, Linked::Folder(d), new).await
    }

    async fn make_link(&self, user: &User, opens: Linked, new: NewLink) -> Result<(LinkView, String)> {
        if new.max_downloads == Some(0) {
            return Err(Error::InvalidRequest("max_downloads must be at least 1".into()));
        }
        if new.expires_in.is_some_and(|d| d <= SignedDuration::ZERO || d > SignedDuration::from_hours(24 * 366)) {
            return Err(Error::InvalidRequest("expires_in_seconds must be between 1 s and a year".into()));
        }
        let password_hash = match new.password {
            Some(p) => Some(tokio::task::spawn_blocking(move || hash_password(&p)).await.map_err(Error::internal)??),
            None => None,
        };
        // 256 random bits; only the hash is stored.
        let token = random_token(32);
        let at = now();
        let link = Link {
            id: LinkId::generate(),
            target: match &opens {
                Linked::File(f) => LinkTarget::File(f.id.clone()),
                Linked::Folder(d) => LinkTarget::Folder(d.id.clone()),
            },
            owner_id: user.id.clone(),
            token_hash: sha256_hex(&token),
            password_hash,
            expires_at: new.expires_in.map(|d| at + d),
            max_downloads: new.max_downloads,
            downloads: 0,
            revoked: false,
            created_at: at,
        };
        let _w = self.gate.read().await;
        let a = Activity {
            actor_id: Some(user.id.clone()),
            actor_email: Some(user.email.clone()),
            link_id: Some(link.id.clone()),
            ..opens.activity(ActivityKind::LinkCreated)
        };
        self.store.insert_link(&link, Some(a.clone())).await?;
        self.feed.publish(vec![Self::activity_change(&a)]);
        Ok((LinkView::from(&link), token))
    }

    pub async fn links(&self, user: &User, id: &FileId) -> Result<Vec<LinkView>> {
        self.owned(user, id).await?;
        Ok(self.store.links_for_file(id).await?.iter().map(LinkView::from).collect())
    }

    pub async fn folder_links(&self, user: &User, id: &FolderId) -> Result<Vec<LinkView>> {
        self.owned_folder(user, id).await?;
        Ok(self.store.links_for_folder(id).await?.iter().map(LinkView::from).collect())
    }

    pub async fn revoke_link(&self, user: &User, id: &LinkId) -> Result<()> {
        let link = match self.store.link(id).await? {
            Some(l) if l.owner_id == user.id => l,
            _ => return Err(Error::not_found("link")),
        };
        let _w = self.gate.read().await;
        // The record names what it opens, read with the link as it is revoked.
        let record = Self::link_activity(ActivityKind::LinkRevoked, Some(user.clone()), |_| None, None);
        if let Some(opened) = self.store.revoke_link(&link, Some(Box::new(record.clone()))).await? {
            self.feed.publish(vec![Self::activity_change(&record(&link, &opened))]);
        }
        Ok(())
    }

    /// The link, if it is usable now.
    async fn usable_link(&self, token: &str) -> Result<Link> {
        if token.is_empty() || token.len() > 128 {
            return Err(Error::Link(LinkRefusal::NotAvailable));
        }
        let link =
            self.store.link_by_token_hash(&sha256_hex(token)).await?.ok_or(Error::Link(LinkRefusal::NotAvailable))?;
        if let Some(r) = link.refusal(now()) {
            return Err(Error::Link(r));
        }
        Ok(link)
    }

    /// The usable link, once its password (if it has one) is given.
    async fn opened_link(&self, token: &str, password: Option<String>) -> Result<Link> {
        let link = self.usable_link(token).await?;
        if let Some(hash) = &link.password_hash {
            let Some(password) = password else { return Err(Error::PasswordRequired) };
            // Counted before the check (atomically, and in the cloud in
            // Firestore, which every function instance shares): parallel
            // guesses make at most the limit's worth of checks.
            let key = format!("link:{}", link.id);
            self.link_passwords.begin(&key).await?;
            let ok = password.len() <= Password::MAX_BYTES && {
                let hash = hash.clone();
                tokio::task::spawn_blocking(move || verify_password(&password, &hash)).await.map_err(Error::internal)?
            };
            if !ok {
                return Err(Error::WrongPassword);
            }
            self.link_passwords.forgive(&key).await?;
        }
        Ok(link)
    }

    pub async fn link_info(&self, token: &str) -> Result<PublicLink> {
        let link = self.usable_link(token).await?;
        let gone = || Error::Link(LinkRefusal::NotAvailable);
        let (kind, name, size, content_type) = match &link.target {
            LinkTarget::File(id) => {
                let f = self.store.file(id).await?.ok_or_else(gone)?;
                ("file", f.name, Some(f.size), Some(f.content_type))
            }
            LinkTarget::Folder(id) => ("folder", self.store.folder(id).await?.ok_or_else(gone)?.name, None, None),
        };
        Ok(PublicLink {
            kind,
            name,
            size,
            content_type,
            password_required: link.password_hash.is_some(),
            expires_at: link.expires_at,
            downloads_left: link.max_downloads.map(|m| m.saturating_sub(link.downloads)),
        })
    }

    /// The folder `id` (the linked one if `None`) if it is the folder
    /// `link` opens or inside it, with the folders from the linked one down
    /// to it; anything else is "not found", a file link's too.
    async fn folder_in_link(&self, link: &Link, id: Option<&FolderId>) -> Result<(Folder, Vec<Folder>)> {
        let LinkTarget::Folder(root) = &link.target else { return Err(Error::not_found("folder")) };
        let mut path = self.store.folder_path(id.unwrap_or(root)).await?;
        let from = path.iter().position(|d| &d.id == root && d.owner_id == link.owner_id);
        let Some(from) = from else { return Err(Error::not_found("folder")) };
        path.drain(..from);
        let folder = path.pop().ok_or(Error::not_found("folder"))?;
        Ok((folder, path))
    }

    /// What is in a folder of a folder link: not counted as a download.
    pub async fn link_list(&self, token: &str, password: Option<String>, id: Option<&FolderId>) -> Result<LinkListing> {
        let link = self.opened_link(token, password).await?;
        let (folder, path) = self.folder_in_link(&link, id).await?;
        let (mut folders, mut files) = tokio::try_join!(
            self.store.folders_in(&folder.owner_id, Some(&folder.id)),
            self.store.ready_files_in(&folder.owner_id, std::slice::from_ref(&folder.id)),
        )?;
        folders.sort_by_cached_key(|d| d.name.key());
        files.sort_by_cached_key(|f| f.name.key());
        Ok(LinkListing {
            folder: LinkFolder::from(&folder),
            path: path.iter().map(LinkFolder::from).collect(),
            folders: folders.iter().map(LinkFolder::from).collect(),
            files: files.iter().map(LinkFile::from).collect(),
        })
    }

    /// Checks the password, counts the download atomically and signs a URL:
    /// of the linked file, or of `file` inside the linked folder.
    pub async fn link_download(
        &self,
        token: &str,
        password: Option<String>,
        file: Option<&FileId>,
        inline: bool,
    ) -> Result<SignedUrl> {
        let link = self.opened_link(token, password).await?;
        // In a folder link: the file, if it is ready and in the folder.
        let inside = match (&link.target, file) {
            (LinkTarget::File(id), Some(f)) if f != id => return Err(Error::not_found("file")),
            (LinkTarget::File(_), _) => None,
            (LinkTarget::Folder(_), None) => {
                return Err(Error::InvalidRequest("file_id: which file of the folder to download".into()));
            }
            (LinkTarget::Folder(_), Some(id)) => {
                let f =
                    self.store.file(id).await?.filter(|f| f.status == FileStatus::Ready && f.owner_id == link.owner_id);
                let f = f.ok_or(Error::not_found("file"))?;
                let Some(d) = &f.folder_id else { return Err(Error::not_found("file")) };
                self.folder_in_link(&link, Some(d)).await.map_err(|_| Error::not_found("file"))?;
                Some(f)
            }
        };
        let _w = self.gate.read().await;
        // The record names the file and says how many downloads the link has
        // had with this one: both read in the store's transaction.
        let used = |l: &Link| l.max_downloads.map(|m| format!("{} of {m} downloads used", l.downloads));
        let record = Self::link_activity(ActivityKind::Downloaded, None, used, inside.clone());
        let counted = self.store.count_link_download(&link, now(), Some(Box::new(record.clone()))).await?;
        let (link, opened) = counted.map_err(Error::Link)?;
        let f = match (inside, opened.clone()) {
            (Some(f), _) | (None, Linked::File(f)) => f,
            (None, Linked::Folder(_)) => return Err(Error::internal("a file link opened a folder")),
        };
        let url = self.sign_get(&f, inline)?;
        self.feed.publish(vec![Self::activity_change(&record(&link, &opened))]);
        if !inline {
            self.notice_download(&f, None).await;
        }
        Ok(url)
    }

    /// A page of a ZIP of the folder `id` (the linked one if `None`)
    /// through a folder link. Without `ticket`: a new download (from the
    /// first page, or from `cursor`: one resumed in another session), once
    /// the password is given, counting one download against the link's
    /// limit and logging it; its answer carries the ticket. With the ticket
    /// (the id of that log record): any page of the same archive, again
    /// too, counting nothing, for a day, while the link is not revoked or
    /// past its expiry.
    pub async fn link_archive(
        &self,
        token: &str,
        password: Option<String>,
        id: Option<&FolderId>,
        cursor: Option<&str>,
        ticket: Option<&str>,
    ) -> Result<LinkArchivePage> {
        let (link, root, ticket) = match ticket {
            Some(t) => {
                let link = self.usable_or_used_up(token).await?;
                let (root, _) = self.folder_in_link(&link, id).await?;
                self.check_ticket(&link, &root, t).await?;
                (link, root, t.to_owned())
            }
            None => {
                let link = self.opened_link(token, password).await?;
                let (root, _) = self.folder_in_link(&link, id).await?;
                (link, root, String::new())
            }
        };
        let page = self.archive_of(&root, cursor).await?;
        if !ticket.is_empty() {
            return Ok(LinkArchivePage { page, ticket });
        }
        let _w = self.gate.read().await;
        let archived = root.clone();
        let record = Self::link_activity(ActivityKind::Downloaded, None, |_| Some(ZIP_DETAIL.into()), None);
        // About the archived folder (the linked one or one inside it).
        let record = move |l: &Link, _: &Linked| record(l, &Linked::Folder(archived.clone()));
        let counted = self.store.count_link_download(&link, now(), Some(Box::new(record.clone()))).await?;
        let (link, opened) = counted.map_err(Error::Link)?;
        let a = record(&link, &opened);
        self.feed.publish(vec![Self::activity_change(&a)]);
        Ok(LinkArchivePage { page, ticket: a.id.to_string() })
    }

    /// The link by its token if it is neither revoked nor expired: one that
    /// is used up still gives the pages of an archive it counted.
    async fn usable_or_used_up(&self, token: &str) -> Result<Link> {
        match self.usable_link(token).await {
            Err(Error::Link(LinkRefusal::Exhausted)) => {
                self.store.link_by_token_hash(&sha256_hex(token)).await?.ok_or(Error::Link(LinkRefusal::NotAvailable))
            }
            other => other,
        }
    }

    /// Whether `ticket` is the log record of a ZIP of `root` counted
    /// through `link` within `TICKET_LIFETIME`.
    async fn check_ticket(&self, link: &Link, root: &Folder, ticket: &str) -> Result<()> {
        let bad = || Error::not_found("ticket");
        let id = ActivityId::parse(ticket).map_err(|_| bad())?;
        let a = self.store.activity_record(&id).await?.ok_or_else(bad)?;
        let fits = a.kind == ActivityKind::Downloaded
            && a.link_id.as_ref() == Some(&link.id)
            && a.folder_id.as_ref() == Some(&root.id)
            && a.owner_id == link.owner_id
            && a.at + TICKET_LIFETIME > now();
        if fits { Ok(()) } else { Err(bad()) }
    }
}

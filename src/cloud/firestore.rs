//! The cloud metadata store: Cloud Firestore, through the `firestore` crate
//! (gRPC), honouring `FIRESTORE_EMULATOR_HOST`.
//!
//! The documents (`docs`) are shaped for two readers besides this store: the
//! web client's `onSnapshot` listeners ("my files", "shared with me", "my
//! activity") and `firestore.rules`, which let each signed-in person read
//! exactly their own files, files shared with them, their activity, their
//! links and invitations, and nobody write anything. Every write comes from
//! here, with the service account.
//!
//! Everything that must be atomic is one Firestore transaction, begun by its
//! first read (see `rpc`): quota at upload (`usage/{owner}` is read and
//! written with the file), completing an upload, a link's download count
//! and revocation (the link and its file in that first read), sharing and
//! unsharing (the file and the invitation), deleting a file with its links
//! and invitations, and claiming invitations. A change's activity record
//! goes into the same commit. Contended transactions are retried.
//!
//! Round trips per call (counted by `round_trips()`, checked by
//! `tests/store_firestore.rs`): reads 1 (`readers` and `file_with_sharing`
//! 2: the documents, then everything they name, batched), transactional
//! writes 2 (read, commit), `delete_file` and `claim_invitations` 3,
//! `add_invitation` 2 (the file, for its owner and the guard; commit),
//! blind writes (`insert_link`, `append_activity`) 1.

mod docs;
mod folders;
mod outbox;
mod rpc;
mod shapes;
mod upgrade;

pub use self::shapes::QueryShape;

use std::sync::Arc;

use ::firestore::{FirestoreDb, FirestoreDbOptions, FirestoreQueryDirection};
use async_trait::async_trait;
use jiff::Timestamp;

use self::docs::*;
use self::folders::owned_folder_doc;
use self::rpc::{Rpc, TxFail, decode, firestore_error};
use crate::domain::*;
use crate::error::{Error, LinkRefusal, Result};
use crate::ratelimit::{Attempts, Limit, Window};
use crate::store::{
    Completed, FileActivity, FileGuard, FileQuery, LinkActivity, Linked, MetadataStore, Page, Scope, Sharing, SortKey,
    Unshared, Within,
};
use ::firestore::gcloud_sdk::google::firestore::v1::{Document, Write};

pub use self::auth::EmulatorAuth;

/// The Firestore metadata store.
pub struct FirestoreStore {
    rpc: Arc<Rpc>,
    shapes: Arc<shapes::Shapes>,
}

impl FirestoreStore {
    /// Connects to project `project_id`: to the emulator when
    /// `FIRESTORE_EMULATOR_HOST` is set; else with the service account key
    /// in `LIVEDROP_SERVICE_ACCOUNT_JSON` (the JSON itself, as on Vercel,
    /// the same variable the Cloud Storage signer reads); else with the
    /// Application Default Credentials (`GOOGLE_APPLICATION_CREDENTIALS`, or
    /// the metadata server on Google Cloud).
    pub async fn connect(project_id: &str) -> Result<Self> {
        let set = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let key = if set("FIRESTORE_EMULATOR_HOST").is_some() { None } else { set("LIVEDROP_SERVICE_ACCOUNT_JSON") };
        Self::connect_with_key(project_id, key.as_deref()).await
    }

    /// `connect`, with the service account key given (`None`: the
    /// emulator if `FIRESTORE_EMULATOR_HOST` is set, else ADC). Opens the
    /// gRPC channel at once; the first request fetches a token.
    pub async fn connect_with_key(project_id: &str, service_account_json: Option<&str>) -> Result<Self> {
        let Some(json) = service_account_json else {
            let db = FirestoreDb::new(project_id).await.map_err(firestore_error)?;
            return Ok(Self::from_db(db));
        };
        let key: serde_json::Value = serde_json::from_str(json)
            .map_err(|e| Error::internal(format!("LIVEDROP_SERVICE_ACCOUNT_JSON is not JSON: {e}")))?;
        let scopes = vec!["https://www.googleapis.com/auth/cloud-platform".to_owned()];
        let auth = ::firestore::gcloud_sdk::GoogleAuthHeaders::from_service_account_key(key, scopes)
            .await
            .map_err(|e| Error::internal(format!("LIVEDROP_SERVICE_ACCOUNT_JSON is not a service account key: {e}")))?;
        let options = FirestoreDbOptions::new(project_id.to_owned());
        let db = FirestoreDb::with_options_auth(options, auth).await.map_err(firestore_error)?;
        Ok(Self::from_db(db))
    }

    /// Connects to the emulator at `host` (`127.0.0.1:PORT`) as its admin,
    /// whatever the environment says: for tests that start their own.
    pub async fn connect_emulator(project_id: &str, host: &str) -> Result<Self> {
        let options = FirestoreDbOptions {
            firebase_api_url: Some(format!("http://{host}")),
            ..FirestoreDbOptions::new(project_id.to_owned())
        };
        let db = FirestoreDb::with_options_auth(options, EmulatorAuth::owner()).await.map_err(firestore_error)?;
        Ok(Self::from_db(db))
    }

    pub fn from_db(db: FirestoreDb) -> Self {
        Self { rpc: Arc::new(Rpc::new(db)), shapes: Arc::default() }
    }

    /// Firestore round trips made so far by this store: what issue 6's
    /// budget (≤2 per read, ≤3 per write) is measured with.
    pub fn round_trips(&self) -> u64 {
        self.rpc.round_trips()
    }

    /// The shape of every query run so far (`tests/firestore_indexes.rs`
    /// checks each has its index).
    pub fn query_shapes(&self) -> Vec<QueryShape> {
        self.shapes.all()
    }

    fn db(&self) -> &FirestoreDb {
        &self.rpc.db
    }

    fn path(&self, collection: &str, id: &str) -> String {
        self.rpc.path(collection, id)
    }

    async fn get_one<T: serde::de::DeserializeOwned>(&self, collection: &str, id: &str) -> Result<Option<T>> {
        let (_, mut docs) = self.rpc.get(&[self.path(collection, id)], None, false).await.map_err(done)?;
        docs.pop().flatten().map(|d| decode(&d)).transpose()
    }

    /// Queries a collection; `filter` builds the crate's filter expression.
    async fn query(
        &self,
        collection: &str,
        filter: impl Fn(
            ::firestore::select_filter_builder::FirestoreQueryFilterBuilder,
        ) -> Option<::firestore::FirestoreQueryFilter>,
        order: Vec<(&str, FirestoreQueryDirection)>,
        offset: Option<u64>,
        limit: Option<u64>,
    ) -> Result<Vec<::firestore::gcloud_sdk::google::firestore::v1::Document>> {
        // The filter as the crate builds it, recorded on the way.
        let mut q = self.db().fluent().select().from(collection).filter(|b| {
            let built = filter(b);
            self.shapes.record(collection, built.as_ref(), &order);
            built
        });
        let order: Vec<_> =
            order.into_iter().map(|(f, d)| ::firestore::FirestoreQueryOrder::new(f.to_owned(), d)).collect();
        q = q.order(|_| order.clone());
        if let Some(o) = offset {
            q = q.offset(u32::try_from(o).map_err(|_| Error::InvalidRequest("offset too large".into()))?);
        }
        if let Some(l) = limit {
            q = q.limit(u32::try_from(l).unwrap_or(u32::MAX));
        }
        self.rpc.trip();
        q.query().await.map_err(firestore_error)
    }
}

fn done(f: TxFail) -> Error {
    f.into_error()
}

fn doc_id(doc: &::firestore::gcloud_sdk::google::firestore::v1::Document) -> &str {
    doc.name.rsplit('/').next().unwrap_or_default()
}

fn dir(descending: bool) -> FirestoreQueryDirection {
    if descending { FirestoreQueryDirection::Descending } else { FirestoreQueryDirection::Ascending }
}

#[async_trait]
impl MetadataStore for FirestoreStore {
    async fn create_user(&self, user: &User) -> Result<()> {
        let (user_path, email_path) = (self.path(USERS, user.id.as_str()), self.path(EMAILS, &email_key(&user.email)));
        let doc = UserDoc::from(user);
        self.rpc
            .transact(|| async {
                let (tx, docs) = self.rpc.get(&[user_path.clone(), email_path.clone()], None, true).await?;
                let tx = tx.unwrap_or_default();
                if docs.iter().any(Option::is_some) {
                    self.rpc.rollback(tx).await;
                    return Err(Error::EmailTaken.into());
                }
                let writes = vec![rpc::create(&user_path, &doc)?, rpc::create(&email_path, &doc)?];
                self.rpc.commit(Some(tx), writes).await
            })
            .await
    }

    async fn upsert_user(&self, user: &User) -> Result<()> {
        let (user_path, email_path) = (self.path(USERS, user.id.as_str()), self.path(EMAILS, &email_key(&user.email)));
        let doc = UserDoc::from(user);
        self.rpc
            .transact(|| async {
                let (tx, docs) = self.rpc.get(&[user_path.clone(), email_path.clone()], None, true).await?;
                let tx = tx.unwrap_or_default();
                let old: Option<UserDoc> = docs[0].as_ref().map(decode).transpose()?;
                let holder: Option<UserDoc> = docs[1].as_ref().map(decode).transpose()?;
                let mut writes = vec![rpc::set(&user_path, &doc)?, rpc::set(&email_path, &doc)?];
                // The address moved to this person: the old profile keeps a
                // placeholder, so that its own later update deletes nothing
                // of ours.
                if let Some(h) = holder.filter(|h| h.id != doc.id) {
                    let id = UserId::parse(&h.id)?;
                    let moved = UserDoc::from(&User { email: Email::moved_away(&id), id });
                    writes.push(rpc::set(&self.path(USERS, &moved.id), &moved)?);
                }
                if let Some(old) = old.filter(|o| o.email != doc.email)
                    && let Ok(old_email) = Email::parse(&old.email)
                {
                    writes.push(rpc::delete(&self.path(EMAILS, &email_key(&old_email))));
                }
                self.rpc.commit(Some(tx), writes).await
            })
            .await
    }

    async fn user_by_id(&self, id: &UserId) -> Result<Option<User>> {
        self.get_one::<UserDoc>(USERS, id.as_str()).await?.map(UserDoc::into_user).transpose()
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<User>> {
        self.get_one::<UserDoc>(EMAILS, &email_key(email)).await?.map(UserDoc::into_user).transpose()
    }

    async fn insert_pending_file(&self, file: &FileRecord, quota: u64) -> Result<()> {
        let (usage_path, file_path) = (self.path(USAGE, file.owner_id.as_str()), self.path(FILES, file.id.as_str()));
        let refs_path = self.path(FILE_REFS, file.id.as_str());
        let doc = FileDoc::from(file, vec![]);
        let mut paths = vec![usage_path.clone()];
        paths.extend(file.folder_id.as_ref().map(|d| self.path(FOLDERS, d.as_str())));
        self.rpc
            .transact(|| async {
                let (tx, docs) = self.rpc.get(&paths, None, true).await?;
                let tx = tx.unwrap_or_default();
                if file.folder_id.is_some() {
                    if let Err(e) = owned_folder_doc(docs[1].as_ref(), &file.owner_id) {
                        self.rpc.rollback(tx).await;
                        return Err(e.into());
                    }
                }
                let used: UsageDoc = docs[0].as_ref().map(decode).transpose()?.unwrap_or_default();
                let used = used.bytes.max(0) as u64;
                if used.saturating_add(file.size) > quota {
                    self.rpc.rollback(tx).await;
                    return Err(Error::QuotaExceeded { size: file.size, used, quota }.into());
                }
                let writes = vec![
                    rpc::create(&file_path, &doc)?,
                    rpc::create(&refs_path, &FileRefsDoc::default())?,
                    rpc::set(&usage_path, &UsageDoc { bytes: (used + file.size) as i64 })?,
                ];
                self.rpc.commit(Some(tx), writes).await
            })
            .await
    }

    async fn file(&self, id: &FileId) -> Result<Option<FileRecord>> {
        self.get_one::<FileDoc>(FILES, id.as_str()).await?.map(|d| d.record()).transpose()
    }

    async fn raise_received(&self, id: &FileId, received: u64) -> Result<()> {
        // One write, no read: a report that lands after completion raises
        // nothing (completion set it to the size), and one for a file that
        // is gone fails on the precondition.
        let write = rpc::if_exists(rpc::transform(
            &self.path(FILES, id.as_str()),
            vec![rpc::maximum("received", i64::try_from(received).unwrap_or(i64::MAX))],
        ));
        match self.rpc.commit(None, vec![write]).await {
            Ok(()) => Ok(()),
            Err(TxFail::NotFound) => Err(Error::not_found("file")),
            Err(e) => Err(done(e)),
        }
    }

    async fn file_and_readers(&self, id: &FileId) -> Result<Option<(FileRecord, Vec<UserId>)>> {
        // The readers are in the file's own document (for the rules).
        let Some(doc) = self.get_one::<FileDoc>(FILES, id.as_str()).await? else { return Ok(None) };
        let readers = doc.reader_ids();
        Ok(Some((doc.record()?, readers)))
    }

    async fn file_with_sharing(&self, id: &FileId) -> Result<Option<(FileRecord, Sharing)>> {
        // The file names its readers, its refs its links and invitations:
        // one batch for those two, one for everything they name.
        let paths = [self.path(FILES, id.as_str()), self.path(FILE_REFS, id.as_str())];
        let (_, docs) = self.rpc.get(&paths, None, false).await.map_err(done)?;
        let Some(file) = docs[0].as_ref().map(decode::<FileDoc>).transpose()? else { return Ok(None) };
        let refs: FileRefsDoc = docs[1].as_ref().map(decode).transpose()?.unwrap_or_default();
        let users: Vec<_> = file.readers.iter().map(|r| self.path(USERS, r)).collect();
        let links: Vec<_> = refs.links.iter().map(|l| self.path(LINKS, l)).collect();
        let invitations: Vec<_> = refs.invitations.iter().map(|i| self.path(INVITATIONS, i)).collect();
        let wanted: Vec<String> = users.iter().chain(&links).chain(&invitations).cloned().collect();
        let mut sharing = Sharing::default();
        if !wanted.is_empty() {
            let (_, found) = self.rpc.get(&wanted, None, false).await.map_err(done)?;
            let (u, rest) = found.split_at(users.len());
            let (l, i) = rest.split_at(links.len());
            for d in u.iter().flatten() {
                sharing.readers.push(decode::<UserDoc>(d)?.into_user()?);
            }
            for d in l.iter().flatten() {
                sharing.links.push(decode::<LinkDoc>(d)?.link(doc_id(d))?);
            }
            for d in i.iter().flatten() {
                sharing.invitations.push(Email::parse(&decode::<InvitationDoc>(d)?.email)?);
            }
        }
        sharing.readers.sort_by(|a, b| a.email.as_str().cmp(b.email.as_str()));
        sharing.invitations.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        sharing.links.sort_by(|a, b| (a.created_at, a.id.as_str()).cmp(&(b.created_at, b.id.as_str())));
        Ok(Some((file.record()?, sharing)))
    }

    async fn mark_ready(
        &self,
        hint: &FileRecord,
        at: Timestamp,
        generation: Option<i64>,
        activity: Option<FileActivity>,
    ) -> Result<Completed> {
        let path = self.path(FILES, hint.id.as_str());
        // Where its name and folder are if the file is as the caller read
        // it: read with it, in the transaction's first round trip.
        let hinted = FileDoc::from(hint, vec![]);
        let mut paths = vec![path.clone(), self.path(NAMES, &hinted.name_id())];
        if !hinted.parent.is_empty() {
            paths.push(self.path(FOLDERS, &hinted.parent));
        }
        self.rpc
            .transact(|| async {
                let (tx, mut docs) = self.rpc.get(&paths, None, true).await?;
                let tx = tx.unwrap_or_default();
                let Some(doc) = docs[0].as_ref().map(decode::<FileDoc>).transpose()? else {
                    self.rpc.rollback(tx).await;
                    return Err(Error::not_found("file").into());
                };
                let file = doc.record()?;
                if file.status != FileStatus::Pending {
                    self.rpc.rollback(tx).await;
                    return Err(Error::NotPending.into());
                }
                let read =
                    (doc.name_id() == hinted.name_id() && doc.parent == hinted.parent).then(|| docs.split_off(1));
                let claim = self.claim_name(&tx, &doc, file.on_conflict, read).await?;
                let key = claim.name.key();
                let patch = ReadyPatch {
                    status: FileStatus::Ready.as_str(),
                    name: claim.name.as_str(),
                    name_key: &key,
                    holds_name: true,
                    received: doc.size,
                    updated_at: at,
                    generation,
                };
                let mut writes = vec![rpc::patch(&path, &patch)?];
                let held = NameDoc { kind: "file".into(), id: doc.id.clone() };
                writes.push(rpc::set(&self.path(NAMES, &name_id(&doc.owner_id, &doc.parent, &key)), &held)?);
                let mut replaced = None;
                if let Some((old, refs)) = &claim.replaces {
                    // The names document moves to the new file, in `writes`.
                    writes.extend(self.file_deletion(old, refs, false));
                    writes.push(self.usage_change(&old.owner_id, -old.size));
                    replaced = Some((old.record()?, old.reader_ids()));
                }
                let ready = FileRecord {
                    status: FileStatus::Ready,
                    received: file.size,
                    updated_at: at,
                    generation,
                    name: claim.name,
                    ..file
                };
                let writes = self.with_activity(writes, activity.as_ref().map(|a| a(&ready)).as_ref())?;
                self.rpc.commit(Some(tx), writes).await?;
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
        let path = self.path(FILES, file.id.as_str());
        let parent = folder.map(|d| d.to_string()).unwrap_or_default();
        let key = name.key();
        // An owner never changes, so the name's holder is known before the
        // file is read again: file, name and folder in one round trip.
        let new_name = self.path(NAMES, &name_id(file.owner_id.as_str(), &parent, &key));
        self.rpc
            .transact(|| async {
                let mut paths = vec![path.clone(), new_name.clone()];
                paths.extend(folder.map(|d| self.path(FOLDERS, d.as_str())));
                let (tx, docs) = self.rpc.get(&paths, None, true).await?;
                let tx = tx.unwrap_or_default();
                let doc = docs[0].as_ref().map(decode::<FileDoc>).transpose()?;
                let Some(doc) = doc.filter(|d| d.owner_id == file.owner_id.as_str()) else {
                    self.rpc.rollback(tx).await;
                    return Err(Error::not_found("file").into());
                };
                let ready = doc.status == FileStatus::Ready.as_str();
                let checked = async {
                    if folder.is_some() {
                        owned_folder_doc(docs[2].as_ref(), &file.owner_id)?;
                    }
                    if ready {
                        if let Some(h) = docs[1].as_ref().map(decode::<NameDoc>).transpose()? {
                            if h.id != doc.id {
                                return Err(Error::NameTaken { name: name.as_str().to_owned() });
                            }
                        }
                    }
                    Ok(())
                };
                if let Err(e) = checked.await {
                    self.rpc.rollback(tx).await;
                    return Err(e.into());
                }
                let mut writes = Vec::new();
                if doc.holds_name && self.path(NAMES, &doc.name_id()) != new_name {
                    writes.push(rpc::delete(&self.path(NAMES, &doc.name_id())));
                }
                if ready {
                    writes.push(rpc::set(&new_name, &NameDoc { kind: "file".into(), id: doc.id.clone() })?);
                }
                let patch = PlacePatch {
                    name: name.as_str(),
                    name_key: &key,
                    parent: &parent,
                    holds_name: ready,
                    updated_at: at,
                };
                writes.push(rpc::patch(&path, &patch)?);
                let placed =
                    FileRecord { name: name.clone(), folder_id: folder.cloned(), updated_at: at, ..doc.record()? };
                let writes = self.with_activity(writes, activity.as_ref().map(|a| a(&placed)).as_ref())?;
                self.rpc.commit(Some(tx), writes).await?;
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
        let paths = [self.path(FILES, id.as_str()), self.path(FILE_REFS, id.as_str())];
        self.rpc
            .transact(|| async {
                let (tx, docs) = self.rpc.get(&paths, None, true).await?;
                let tx = tx.unwrap_or_default();
                let Some(doc) = docs[0].as_ref().map(decode::<FileDoc>).transpose()? else {
                    self.rpc.rollback(tx).await;
                    return Ok(None);
                };
                if let Some(g) = &guard {
                    if let Err(e) = doc.record().and_then(|f| g(&f)) {
                        self.rpc.rollback(tx).await;
                        return Err(e.into());
                    }
                }
                let refs: FileRefsDoc = docs[1].as_ref().map(decode).transpose()?.unwrap_or_default();
                let mut writes = self.file_deletion(&doc, &refs, true);
                writes.push(self.usage_change(&doc.owner_id, -doc.size));
                let writes = self.with_activity(writes, activity.as_ref())?;
                self.rpc.commit(Some(tx), writes).await?;
                Ok(Some((doc.record()?, doc.reader_ids())))
            })
            .await
    }

    async fn list_files(&self, q: &FileQuery) -> Result<Page<FileRecord>> {
        let key = match q.sort {
            SortKey::Name => "name_key",
            SortKey::Size => "size",
            SortKey::Created => "created_at",
            SortKey::Updated => "updated_at",
        };
        let user = q.user.as_str();
        let (scope, uploading) = (q.scope, q.uploading);
        let within = match (&q.within, scope) {
            (Within::Top, Scope::Mine) => Some(String::new()),
            (Within::Folder(d), Scope::Mine) => Some(d.to_string()),
            _ => None,
        };
        let docs = self
            .query(
                FILES,
                |f| {
                    let who = match scope {
                        Scope::Mine => f.field("owner_id").eq(user),
                        Scope::SharedWithMe => f.field("readers").array_contains(user),
                    };
                    let place = within.as_ref().and_then(|p| f.field("parent").eq(p.as_str()));
                    // `in` is an equality to indexes: the same ones serve both.
                    let status = if uploading {
                        f.field("status").is_in(vec![FileStatus::Pending.as_str(), FileStatus::Ready.as_str()])
                    } else {
                        f.field("status").eq(FileStatus::Ready.as_str())
                    };
                    f.for_all([who, place, status])
                },
                // Ties (same size, same name) in a stable order, as in SQLite.
                vec![(key, dir(q.descending)), ("__name__", dir(q.descending))],
                (q.offset > 0).then_some(q.offset),
                Some(q.limit.saturating_add(1)),
            )
            .await?;
        let mut items = docs.iter().map(|d| decode::<FileDoc>(d)?.record()).collect::<Result<Vec<_>>>()?;
        let next_offset = if items.len() as u64 > q.limit {
            items.truncate(q.limit as usize);
            Some(q.offset + q.limit)
        } else {
            None
        };
        Ok(Page { items, next_offset })
    }

    async fn usage(&self, owner: &UserId) -> Result<u64> {
        Ok(self.get_one::<UsageDoc>(USAGE, owner.as_str()).await?.unwrap_or_default().bytes.max(0) as u64)
    }

    async fn pending_before(&self, before: Timestamp, limit: u64) -> Result<Vec<FileRecord>> {
        let docs = self
            .query(
                FILES,
                |f| {
                    f.for_all([
                        f.field("status").eq(FileStatus::Pending.as_str()),
                        f.field("created_at").less_than(::firestore::FirestoreTimestamp(before)),
                    ])
                },
                vec![("created_at", FirestoreQueryDirection::Ascending)],
                None,
                Some(limit),
            )
            .await?;
        docs.iter().map(|d| decode::<FileDoc>(d)?.record()).collect()
    }

    async fn add_share(
        &self,
        file: &FileId,
        user: &UserId,
        _at: Timestamp,
        guard: Option<FileGuard>,
        activity: Option<FileActivity>,
    ) -> Result<Option<FileRecord>> {
        let path = self.path(FILES, file.as_str());
        self.rpc
            .transact(|| async {
                let (tx, docs) = self.rpc.get(std::slice::from_ref(&path), None, true).await?;
                let tx = tx.unwrap_or_default();
                let (mut doc, f) = self.guarded_in(&tx, docs[0].as_ref(), guard.as_ref()).await?;
                if doc.readers.iter().any(|r| r == user.as_str()) {
                    self.rpc.rollback(tx).await;
                    return Ok(None);
                }
                doc.readers.push(user.to_string());
                let writes = vec![rpc::patch(&path, &ReadersPatch { readers: &doc.readers })?];
                let record = activity.as_ref().map(|a| a(&f));
                self.rpc.commit(Some(tx), self.with_activity(writes, record.as_ref())?).await?;
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
        let key = invitation_id(file, email);
        let paths = [self.path(FILES, file.as_str()), self.path(INVITATIONS, &key)];
        self.rpc
            .transact(|| async {
                // The file and the invitation in the read that begins it.
                let (tx, docs) = self.rpc.get(&paths, None, true).await?;
                let tx = tx.unwrap_or_default();
                let (mut doc, f) = self.guarded_in(&tx, docs[0].as_ref(), guard.as_ref()).await?;
                let before = doc.readers.len();
                if let Some(u) = user {
                    doc.readers.retain(|r| r != u.as_str());
                }
                let reader = doc.readers.len() != before;
                let invitation = docs[1].is_some();
                if !reader && !invitation {
                    self.rpc.rollback(tx).await;
                    return Ok(None);
                }
                let mut writes = vec![];
                if reader {
                    writes.push(rpc::patch(&paths[0], &ReadersPatch { readers: &doc.readers })?);
                }
                if invitation {
                    writes.push(rpc::delete(&paths[1]));
                    writes.push(rpc::transform(
                        &self.path(FILE_REFS, file.as_str()),
                        vec![rpc::array_remove("invitations", std::slice::from_ref(&key))],
                    ));
                }
                let record = activity.as_ref().map(|a| a(&f));
                self.rpc.commit(Some(tx), self.with_activity(writes, record.as_ref())?).await?;
                Ok(Some(Unshared { file: f, reader }))
            })
            .await
    }

    async fn readers(&self, file: &FileId) -> Result<Vec<User>> {
        let Some(doc) = self.get_one::<FileDoc>(FILES, file.as_str()).await? else { return Ok(vec![]) };
        if doc.readers.is_empty() {
            return Ok(vec![]);
        }
        let paths: Vec<_> = doc.readers.iter().map(|r| self.path(USERS, r)).collect();
        let (_, users) = self.rpc.get(&paths, None, false).await.map_err(done)?;
        let mut users =
            users.iter().flatten().map(|d| decode::<UserDoc>(d)?.into_user()).collect::<Result<Vec<_>>>()?;
        users.sort_by(|a, b| a.email.as_str().cmp(b.email.as_str()));
        Ok(users)
    }

    async fn add_invitation(
        &self,
        file: &FileId,
        email: &Email,
        at: Timestamp,
        guard: Option<FileGuard>,
        activity: Option<FileActivity>,
    ) -> Result<Option<FileRecord>> {
        // The owner goes into the invitation, for the rules; the file, read
        // for that, is what the guard checks.
        let doc = self.get_one::<FileDoc>(FILES, file.as_str()).await?;
        let (_, f) = self.guarded_doc(doc, guard.as_ref())?;
        let key = invitation_id(file, email);
        let invitation = InvitationDoc {
            file_id: file.to_string(),
            owner_id: f.owner_id.to_string(),
            email: email.to_string(),
            created_at: at,
        };
        let writes = vec![
            // Fails the commit (and so records nothing) if there is one already.
            rpc::create(&self.path(INVITATIONS, &key), &invitation)?,
            // Fails the commit if the file was deleted meanwhile: no orphans.
            rpc::if_exists(rpc::transform(
                &self.path(FILE_REFS, file.as_str()),
                vec![rpc::array_union("invitations", &[key])],
            )),
        ];
        let record = activity.as_ref().map(|a| a(&f));
        match self.rpc.commit(None, self.with_activity(writes, record.as_ref())?).await {
            Ok(()) => Ok(Some(f)),
            Err(TxFail::AlreadyExists) => Ok(None),
            Err(TxFail::NotFound) => Err(Error::not_found("file")),
            Err(e) => Err(done(e)),
        }
    }

    async fn invitations(&self, file: &FileId) -> Result<Vec<Email>> {
        let docs = self.query(INVITATIONS, |q| q.field("file_id").eq(file.as_str()), vec![], None, None).await?;
        let mut emails =
            docs.iter().map(|d| Email::parse(&decode::<InvitationDoc>(d)?.email)).collect::<Result<Vec<_>>>()?;
        emails.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        Ok(emails)
    }

    async fn claim_invitations(&self, user: &User, _at: Timestamp) -> Result<Vec<FileId>> {
        self.rpc
            .transact(|| async {
                let query = rpc::equal_query(INVITATIONS, "email", user.email.as_str());
                let (tx, invitations) = self.rpc.query_begin(query).await?;
                if invitations.is_empty() {
                    self.rpc.rollback(tx).await;
                    return Ok(vec![]);
                }
                let files: Vec<String> =
                    invitations.iter().map(|d| Ok(decode::<InvitationDoc>(d)?.file_id)).collect::<Result<_>>()?;
                let paths: Vec<_> = files.iter().map(|f| self.path(FILES, f)).collect();
                let (_, docs) = self.rpc.get(&paths, Some(&tx), false).await?;
                let mut writes: Vec<_> = invitations.iter().map(|d| rpc::delete(&d.name)).collect();
                let mut claimed = Vec::new();
                // An invitation whose file is gone (deleted while it was
                // being written) is dropped, not turned into a share.
                for (path, doc) in paths.iter().zip(&docs) {
                    let Some(doc) = doc else { continue };
                    let mut file: FileDoc = decode(doc)?;
                    if !file.readers.iter().any(|r| r == user.id.as_str()) {
                        file.readers.push(user.id.to_string());
                        writes.push(rpc::patch(path, &ReadersPatch { readers: &file.readers })?);
                    }
                    let key = invitation_id(&FileId::parse(&file.id)?, &user.email);
                    writes.push(rpc::transform(
                        &self.path(FILE_REFS, &file.id),
                        vec![rpc::array_remove("invitations", &[key])],
                    ));
                    claimed.push(FileId::parse(&file.id)?);
                }
                self.rpc.commit(Some(tx), writes).await?;
                Ok(claimed)
            })
            .await
    }

    async fn insert_link(&self, link: &Link, activity: Option<Activity>) -> Result<()> {
        // The id goes on what it opens, to delete with it; the write fails
        // the commit if that is gone: no link to nothing.
        let holder = match &link.target {
            LinkTarget::File(f) => self.path(FILE_REFS, f.as_str()),
            LinkTarget::Folder(d) => self.path(FOLDERS, d.as_str()),
        };
        let writes = vec![
            rpc::create(&self.path(LINKS, link.id.as_str()), &LinkDoc::from(link))?,
            rpc::if_exists(rpc::transform(&holder, vec![rpc::array_union("links", &[link.id.to_string()])])),
        ];
        let writes = self.with_activity(writes, activity.as_ref())?;
        match self.rpc.commit(None, writes).await {
            Ok(()) => Ok(()),
            Err(TxFail::NotFound) => Err(link.target.not_found()),
            Err(f) => Err(done(f)),
        }
    }

    async fn link(&self, id: &LinkId) -> Result<Option<Link>> {
        self.get_one::<LinkDoc>(LINKS, id.as_str()).await?.map(|d| d.link(id.as_str())).transpose()
    }

    async fn link_by_token_hash(&self, token_hash: &str) -> Result<Option<Link>> {
        let docs = self.query(LINKS, |q| q.field("token_hash").eq(token_hash), vec![], None, Some(1)).await?;
        docs.first().map(|d| decode::<LinkDoc>(d)?.link(doc_id(d))).transpose()
    }

    async fn links_for_file(&self, file: &FileId) -> Result<Vec<Link>> {
        self.links_where("file_id", file.as_str()).await
    }

    async fn links_for_folder(&self, folder: &FolderId) -> Result<Vec<Link>> {
        self.links_where("folder_id", folder.as_str()).await
    }

    async fn revoke_link(&self, link: &Link, activity: Option<LinkActivity>) -> Result<Option<Linked>> {
        let paths = [self.path(LINKS, link.id.as_str()), self.linked_path(&link.target)];
        self.rpc
            .transact(|| async {
                let (tx, docs) = self.rpc.get(&paths, None, true).await?;
                let tx = tx.unwrap_or_default();
                let current = docs[0].as_ref().map(decode::<LinkDoc>).transpose()?;
                let opened = linked(&link.target, docs[1].as_ref())?;
                let (Some(current), Some(opened)) = (current.filter(|l| !l.revoked), opened) else {
                    self.rpc.rollback(tx).await;
                    return Ok(None);
                };
                let revoked = Link { revoked: true, ..current.link(link.id.as_str())? };
                let record = activity.as_ref().map(|a| a(&revoked, &opened));
                let patch = rpc::patch(&paths[0], &RevokedPatch { revoked: true })?;
                self.rpc.commit(Some(tx), self.with_activity(vec![patch], record.as_ref())?).await?;
                Ok(Some(opened))
            })
            .await
    }

    async fn count_link_download(
        &self,
        link: &Link,
        now: Timestamp,
        activity: Option<LinkActivity>,
    ) -> Result<Result<(Link, Linked), LinkRefusal>> {
        // The link and what it opens in the one read that begins the
        // transaction.
        let paths = [self.path(LINKS, link.id.as_str()), self.linked_path(&link.target)];
        self.rpc
            .transact(|| async {
                let (tx, docs) = self.rpc.get(&paths, None, true).await?;
                let tx = tx.unwrap_or_default();
                let Some(doc) = docs[0].as_ref().map(decode::<LinkDoc>).transpose()? else {
                    self.rpc.rollback(tx).await;
                    return Ok(Err(LinkRefusal::NotAvailable));
                };
                let current = doc.link(link.id.as_str())?;
                if let Some(refusal) = current.refusal(now) {
                    self.rpc.rollback(tx).await;
                    return Ok(Err(refusal));
                }
                let Some(opened) = linked(&current.target, docs[1].as_ref())? else {
                    self.rpc.rollback(tx).await;
                    return Ok(Err(LinkRefusal::NotAvailable));
                };
                let counted = Link { downloads: current.downloads + 1, ..current };
                let patch = DownloadsPatch { downloads: counted.downloads as i64 };
                let record = activity.as_ref().map(|a| a(&counted, &opened));
                let writes = self.with_activity(vec![rpc::patch(&paths[0], &patch)?], record.as_ref())?;
                self.rpc.commit(Some(tx), writes).await?;
                Ok(Ok((counted, opened)))
            })
            .await
    }

    async fn append_activity(&self, activity: &Activity) -> Result<()> {
        self.rpc.commit(None, self.with_activity(vec![], Some(activity))?).await.map_err(done)
    }

    async fn activity(&self, owner: &UserId, file: Option<&FileId>, limit: u64) -> Result<Vec<Activity>> {
        let docs = self
            .query(
                ACTIVITY,
                |q| {
                    q.for_all([
                        q.field("owner_id").eq(owner.as_str()),
                        file.and_then(|f| q.field("file_id").eq(f.as_str())),
                    ])
                },
                vec![
                    ("logged_at", FirestoreQueryDirection::Descending),
                    ("__name__", FirestoreQueryDirection::Descending),
                ],
                None,
                Some(limit),
            )
            .await?;
        docs.iter().map(|d| decode::<ActivityDoc>(d)?.activity(doc_id(d))).collect()
    }

    async fn activity_record(&self, id: &ActivityId) -> Result<Option<Activity>> {
        self.get_one::<ActivityDoc>(ACTIVITY, id.as_str()).await?.map(|d| d.activity(id.as_str())).transpose()
    }
}

/// What a link opens, from its document as read (`None` if it is gone).
fn linked(target: &LinkTarget, doc: Option<&Document>) -> Result<Option<Linked>> {
    let Some(doc) = doc else { return Ok(None) };
    Ok(Some(match target {
        LinkTarget::File(_) => Linked::File(decode::<FileDoc>(doc)?.record()?),
        LinkTarget::Folder(_) => Linked::Folder(decode::<FolderDoc>(doc)?.folder()?),
    }))
}

/// Rate-limit windows in Firestore: every function instance counts in the
/// same document, in a transaction, so the limit holds for the deployment.
#[async_trait]
impl Attempts for FirestoreStore {
    async fn begin(&self, key: &str, limit: Limit, now: Timestamp) -> Result<()> {
        self.update_window(key, |w| Window::begin(w, limit, now).map(Some))
            .await
            // Attempts so many at once that they cannot all be counted are
            // refused, not checked: what a limit is for.
            .map_err(|e| if rpc::contended(&e) { Error::RateLimited { retry_after_secs: 2 } } else { e })
    }

    async fn forgive(&self, key: &str, limit: Limit, now: Timestamp) -> Result<()> {
        self.update_window(key, |w| Ok(Window::forgive(w, limit, now))).await
    }
}

impl FirestoreStore {
    /// Reads `key`'s window and writes what `next` makes of it, in one
    /// transaction; `None` (or an error) writes nothing.
    async fn update_window(&self, key: &str, next: impl Fn(Option<Window>) -> Result<Option<Window>>) -> Result<()> {
        let path = self.path(ATTEMPTS, &sha256_hex(key));
        self.rpc
            .transact(|| async {
                let (tx, docs) = self.rpc.get(std::slice::from_ref(&path), None, true).await?;
                let tx = tx.unwrap_or_default();
                let current = docs[0].as_ref().map(decode::<AttemptsDoc>).transpose()?.map(window_of);
                let w = match next(current) {
                    Ok(Some(w)) => w,
                    other => {
                        self.rpc.rollback(tx).await;
                        return other.map(|_| ()).map_err(TxFail::from);
                    }
                };
                let doc = AttemptsDoc { start_ms: w.start_ms, count: i64::from(w.count) };
                self.rpc.commit(Some(tx), vec![rpc::set(&path, &doc)?]).await
            })
            .await
    }
}

fn window_of(d: AttemptsDoc) -> Window {
    Window { start_ms: d.start_ms, count: u32::try_from(d.count).unwrap_or(u32::MAX) }
}

impl FirestoreStore {
    /// The writes that delete a file (as read, with its refs): its links,
    /// invitations, record and refs, and, with `name`, its name in `names`
    /// if it holds it. Not its bytes off its owner's usage: `usage_change`,
    /// once per commit.
    fn file_deletion(&self, doc: &FileDoc, refs: &FileRefsDoc, name: bool) -> Vec<Write> {
        let mut writes: Vec<_> = refs.links.iter().map(|l| rpc::delete(&self.path(LINKS, l))).collect();
        writes.extend(refs.invitations.iter().map(|i| rpc::delete(&self.path(INVITATIONS, i))));
        writes.push(rpc::delete(&self.path(FILES, &doc.id)));
        writes.push(rpc::delete(&self.path(FILE_REFS, &doc.id)));
        if name && doc.holds_name {
            writes.push(rpc::delete(&self.path(NAMES, &doc.name_id())));
        }
        writes
    }

    /// Adds `bytes` (negative: frees them) to `owner`'s quota use.
    fn usage_change(&self, owner: &str, bytes: i64) -> Write {
        rpc::transform(&self.path(USAGE, owner), vec![rpc::increment("bytes", bytes)])
    }

    /// `writes`, and the write that records `activity` (stamped with the
    /// commit's time, the order of the activity list).
    /// The document of what a link opens.
    fn linked_path(&self, target: &LinkTarget) -> String {
        match target {
            LinkTarget::File(f) => self.path(FILES, f.as_str()),
            LinkTarget::Folder(d) => self.path(FOLDERS, d.as_str()),
        }
    }

    /// The links whose `field` (`file_id` or `folder_id`) is `id`, oldest
    /// first.
    async fn links_where(&self, field: &str, id: &str) -> Result<Vec<Link>> {
        let docs = self.query(LINKS, |q| q.field(field).eq(id), vec![], None, None).await?;
        let mut links = docs.iter().map(|d| decode::<LinkDoc>(d)?.link(doc_id(d))).collect::<Result<Vec<_>>>()?;
        links.sort_by(|a, b| (a.created_at, a.id.as_str()).cmp(&(b.created_at, b.id.as_str())));
        Ok(links)
    }

    fn with_activity(&self, mut writes: Vec<Write>, activity: Option<&Activity>) -> Result<Vec<Write>> {
        if let Some(a) = activity {
            let path = self.path(ACTIVITY, a.id.as_str());
            let doc = rpc::create(&path, &ActivityDoc::from(a))?;
            writes.push(rpc::with_transforms(doc, vec![rpc::request_time("logged_at")]));
        }
        Ok(writes)
    }

    /// A file document as read, if it exists and `guard` lets the change go on.
    fn guarded(&self, doc: Option<&Document>, guard: Option<&FileGuard>) -> Result<(FileDoc, FileRecord)> {
        self.guarded_doc(doc.map(decode::<FileDoc>).transpose()?, guard)
    }

    /// `guarded`, inside transaction `tx`, which is rolled back if not.
    async fn guarded_in(
        &self,
        tx: &rpc::TxId,
        doc: Option<&Document>,
        guard: Option<&FileGuard>,
    ) -> Result<(FileDoc, FileRecord), TxFail> {
        match self.guarded(doc, guard) {
            Ok(found) => Ok(found),
            Err(e) => {
                self.rpc.rollback(tx.clone()).await;
                Err(e.into())
            }
        }
    }

    fn guarded_doc(&self, doc: Option<FileDoc>, guard: Option<&FileGuard>) -> Result<(FileDoc, FileRecord)> {
        let doc = doc.ok_or(Error::not_found("file"))?;
        let f = doc.record()?;
        if let Some(g) = guard {
            g(&f)?;
        }
        Ok((doc, f))
    }
}

mod auth {
    //! The emulator's admin token, sent without looking up any Google
    //! credentials.

    use ::firestore::gcloud_sdk::HeaderMap;
    use ::firestore::gcloud_sdk::google_cloud_auth::credentials::{
        CacheableResource, Credentials, CredentialsProvider, EntityTag,
    };
    use ::firestore::gcloud_sdk::google_cloud_auth::errors::CredentialsError;
    use axum::http::{Extensions, HeaderValue, header::AUTHORIZATION};

    /// Sends a fixed `Authorization` header to the Firestore emulator:
    /// `Bearer owner` (the admin, past the rules), or an unsigned emulator
    /// ID token to act as a signed-in user under the rules.
    #[derive(Debug)]
    pub struct EmulatorAuth {
        header: HeaderValue,
        tag: EntityTag,
    }

    impl EmulatorAuth {
        /// The emulator's admin.
        pub fn owner() -> Credentials {
            Self::bearer("owner")
        }

        /// Any bearer token, e.g. an unsigned emulator ID token.
        pub fn bearer(token: &str) -> Credentials {
            let header = HeaderValue::from_str(&format!("Bearer {token}")).expect("a token is header-safe");
            Credentials::from(EmulatorAuth { header, tag: EntityTag::new() })
        }
    }

    impl CredentialsProvider for EmulatorAuth {
        async fn headers(&self, extensions: Extensions) -> Result<CacheableResource<HeaderMap>, CredentialsError> {
            if extensions.get::<EntityTag>() == Some(&self.tag) {
                return Ok(CacheableResource::NotModified);
            }
            let mut headers = HeaderMap::new();
            headers.insert(AUTHORIZATION, self.header.clone());
            Ok(CacheableResource::New { entity_tag: self.tag.clone(), data: headers })
        }

        async fn universe_domain(&self) -> Option<String> {
            Some("googleapis.com".to_owned())
        }
    }
}

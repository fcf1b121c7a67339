//! Brings documents written by earlier releases up to this one's, when a
//! function instance starts (`cloud::app::state`), the way `livedrop
//! serve` migrates its SQLite file.
//!
//! `meta/schema` says how far the documents are: once it is current, the
//! check is one read per instance start. Each step pages through what it
//! changes in transactions, so that two instances starting at once, or an
//! instance stopped half-way, leave nothing half-done: the next start goes
//! on from the documents themselves.

use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};

use super::docs::*;
use super::rpc::{self, decode};
use super::{FirestoreStore, done};
use crate::error::Result;
use ::firestore::FirestoreQueryDirection;

/// Where this release's documents are.
pub(crate) const SCHEMA: i64 = 2;
const PAGE: u64 = 100;

#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct SchemaDoc {
    pub version: i64,
}

/// The one field of a document the upgrade pages by.
#[derive(Deserialize)]
struct IdOnly {
    id: String,
}

impl FirestoreStore {
    /// Pages through `collection` by id and hands the paths of each page's
    /// documents that lack `field` to `upgrade`; returns what it changed.
    async fn upgrade_lacking<'a>(
        &'a self,
        collection: &str,
        field: &str,
        upgrade: impl Fn(&'a Self, Vec<String>) -> BoxFuture<'a, Result<u64>>,
    ) -> Result<u64> {
        let mut changed = 0;
        let mut after = String::new();
        loop {
            let page = self
                .query(
                    collection,
                    |f| f.field("id").greater_than(after.as_str()),
                    vec![("id", FirestoreQueryDirection::Ascending)],
                    None,
                    Some(PAGE),
                )
                .await?;
            let Some(last) = page.last() else { break };
            after = decode::<IdOnly>(last)?.id;
            let old: Vec<String> =
                page.iter().filter(|d| !d.fields.contains_key(field)).map(|d| d.name.clone()).collect();
            if !old.is_empty() {
                changed += upgrade(self, old).await?;
            }
            if (page.len() as u64) < PAGE {
                break;
            }
        }
        Ok(changed)
    }

    /// Upgrades what needs it; returns how many documents changed.
    ///
    /// Step 1 (folders): each file gets `parent: ""` (the top), and each
    /// ready one its name in `names`, where no other file of its owner at
    /// the top has taken it (an earlier release let one owner keep two
    /// files of one name: the oldest by id keeps it, the others keep their
    /// names until they are next renamed or moved).
    ///
    /// Step 2: each folder gets its owner's address (`owner_email`).
    pub async fn upgrade(&self) -> Result<u64> {
        let meta = self.get_one::<SchemaDoc>(META, "schema").await?.unwrap_or_default();
        if meta.version >= SCHEMA {
            return Ok(0);
        }
        let mut changed = self
            .upgrade_lacking(FILES, "parent", |s, old| Box::pin(async move { s.upgrade_files(&old).await }))
            .await?;
        changed += self
            .upgrade_lacking(FOLDERS, "owner_email", |s, old| Box::pin(async move { s.upgrade_folders(&old).await }))
            .await?;
        self.rpc
            .commit(None, vec![rpc::set(&self.path(META, "schema"), &SchemaDoc { version: SCHEMA })?])
            .await
            .map_err(done)?;
        tracing::info!(files = changed, version = SCHEMA, "firestore documents upgraded");
        Ok(changed)
    }

    /// Step 1 for the files at `paths`, in one transaction.
    async fn upgrade_files(&self, paths: &[String]) -> Result<u64> {
        self.rpc
            .transact(|| async {
                let (tx, found) = self.rpc.get(paths, None, true).await?;
                let tx = tx.unwrap_or_default();
                let docs: Vec<FileDoc> = found.iter().flatten().map(decode::<FileDoc>).collect::<Result<_>>()?;
                let names: Vec<String> = docs.iter().map(|d| self.path(NAMES, &d.name_id())).collect();
                let (_, held) = self.rpc.get(&names, Some(&tx), false).await?;
                let mut taken = std::collections::HashSet::new();
                let mut writes = Vec::new();
                for ((d, name), h) in docs.iter().zip(&names).zip(&held) {
                    let ready = d.status == "ready";
                    let holds = ready && h.is_none() && taken.insert(name.clone());
                    if holds {
                        writes.push(rpc::set(name, &NameDoc { kind: "file".into(), id: d.id.clone() })?);
                    }
                    let patch = UpgradePatch { parent: "", holds_name: holds };
                    writes.push(rpc::patch(&self.path(FILES, &d.id), &patch)?);
                }
                let n = docs.len() as u64;
                self.rpc.commit(Some(tx), writes).await?;
                Ok(n)
            })
            .await
    }
}

impl FirestoreStore {
    /// Step 2 for the folders at `paths`, in one transaction: each takes
    /// its owner's address from `users/`.
    async fn upgrade_folders(&self, paths: &[String]) -> Result<u64> {
        self.rpc
            .transact(|| async {
                let (tx, found) = self.rpc.get(paths, None, true).await?;
                let tx = tx.unwrap_or_default();
                let docs: Vec<FolderDoc> = found.iter().flatten().map(decode::<FolderDoc>).collect::<Result<_>>()?;
                let users: Vec<String> = docs.iter().map(|d| self.path(USERS, &d.owner_id)).collect();
                let (_, owners) = self.rpc.get(&users, Some(&tx), false).await?;
                let mut writes = Vec::new();
                for (d, owner) in docs.iter().zip(&owners) {
                    let Some(owner) = owner.as_ref().map(decode::<UserDoc>).transpose()? else { continue };
                    let patch = OwnerPatch { owner_email: &owner.email };
                    writes.push(rpc::patch(&self.path(FOLDERS, &d.id), &patch)?);
                }
                let n = writes.len() as u64;
                self.rpc.commit(Some(tx), writes).await?;
                Ok(n)
            })
            .await
    }
}

#[derive(Serialize)]
struct OwnerPatch<'a> {
    owner_email: &'a str,
}

#[derive(Serialize)]
struct UpgradePatch<'a> {
    parent: &'a str,
    holds_name: bool,
}

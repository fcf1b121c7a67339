//! The metadata contract against SQLite.

mod contract {
    pub mod folders;
    pub mod store;
}

use std::sync::Arc;

use livedrop::store::sqlite::{Db, SqliteStore};

#[tokio::test]
async fn sqlite_keeps_the_metadata_contract() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("t.db"), 2).unwrap();
    let store = Arc::new(SqliteStore::new(db));
    contract::store::run(store.clone()).await;
    contract::folders::run(store).await;
}

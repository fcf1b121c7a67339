//! The blob contract against the self-hosted disk store and its endpoint.

mod common;
mod contract {
    pub mod blob;
}

#[tokio::test]
async fn the_disk_store_keeps_the_blob_contract() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::TestServer::start_in(dir.path(), |_| {}).await;
    // The server's own store object, over the same directory and key.
    let app = livedrop::server::build(&livedrop::server::ServeOptions::new(dir.path())).unwrap();
    contract::blob::run(app.blobs.as_ref(), &server.base).await;
    server.stop().await;
}

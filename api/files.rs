//! Vercel function for files, uploads, shares, links and activity.
//! Like every function here it serves the whole shared router; `vercel.json`
//! decides which paths reach it.

#[tokio::main]
async fn main() -> Result<(), vercel_runtime::Error> {
    livedrop::cloud::vercel::run_function().await
}

//! Vercel function for public links, health, runtime config and the OpenAPI document.
//! Like every function here it serves the whole shared router; `vercel.json`
//! decides which paths reach it.

#[tokio::main]
async fn main() -> Result<(), vercel_runtime::Error> {
    livedrop::cloud::vercel::run_function().await
}

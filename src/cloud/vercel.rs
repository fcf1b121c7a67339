//! The body of every Vercel function in `api/`: the shared router, built
//! from the environment at cold start, behind `VercelLayer`.
//!
//! Without Vercel's IPC (on a developer machine or in tests) `run` serves
//! plain HTTP on `127.0.0.1:$VERCEL_DEV_PORT`, which is how
//! `tests/vercel_routes.rs` starts each function binary.

use tower::ServiceBuilder;
use vercel_runtime::axum::VercelLayer;

pub async fn run_function() -> Result<(), vercel_runtime::Error> {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::new("info")).json().try_init().ok();
    let router = super::app::router_from_env().await?;
    vercel_runtime::run(ServiceBuilder::new().layer(VercelLayer::new()).service(router)).await
}

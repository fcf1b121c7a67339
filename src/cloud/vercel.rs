//! The body of every Vercel function in `api/`: the shared router, built
//! from the environment at cold start, behind `VercelLayer`.
//!
//! Without Vercel's IPC (on a developer machine or in tests) `run` serves
//! plain HTTP on `127.0.0.1:$VERCEL_DEV_PORT`, which is how
//! `tests/vercel_routes.rs` starts each function binary.
//!
//! Work that must outlive a response (sending the letters a request
//! posted) goes through `after_response`: Vercel keeps the invocation open
//! until it is done (`waitUntil`), where a plain spawn would be frozen with
//! the instance.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tower::{Layer, Service, ServiceBuilder};
use vercel_runtime::axum::VercelLayer;

tokio::task_local! {
    /// The invocation a request handler runs in, on Vercel.
    static INVOCATION: vercel_runtime::AppState;
}

pub async fn run_function() -> Result<(), vercel_runtime::Error> {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::new("info")).json().try_init().ok();
    let router = super::app::router_from_env().await?.layer(axum::middleware::from_fn(in_invocation));
    vercel_runtime::run(ServiceBuilder::new().layer(KeepInvocation).layer(VercelLayer::new()).service(router)).await
}

/// Runs `work` after the response: within the invocation on Vercel, as a
/// task of this long-lived process elsewhere (`livedrop serve --backend
/// firebase`).
pub fn after_response(work: Pin<Box<dyn Future<Output = ()> + Send>>) {
    match INVOCATION.try_with(Clone::clone) {
        Ok(invocation) => invocation.wait_until(work),
        Err(_) => {
            tokio::spawn(work);
        }
    }
}

/// Makes the handler's invocation (which `KeepInvocation` put in the
/// request) available to `after_response`.
async fn in_invocation(req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    match req.extensions().get::<vercel_runtime::AppState>().cloned() {
        Some(invocation) => INVOCATION.scope(invocation, next.run(req)).await,
        None => next.run(req).await,
    }
}

/// Puts the invocation's `AppState` into the request's extensions, which
/// `VercelLayer` hands on to axum (it drops the state itself).
#[derive(Clone)]
struct KeepInvocation;

impl<S> Layer<S> for KeepInvocation {
    type Service = KeepInvocationService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        KeepInvocationService(inner)
    }
}

#[derive(Clone)]
struct KeepInvocationService<S>(S);

impl<S> Service<(vercel_runtime::AppState, vercel_runtime::Request)> for KeepInvocationService<S>
where
    S: Service<(vercel_runtime::AppState, vercel_runtime::Request)>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, (state, mut req): (vercel_runtime::AppState, vercel_runtime::Request)) -> Self::Future {
        req.extensions_mut().insert(state.clone());
        self.0.call((state, req))
    }
}

//! `livedrop sweep`: runs the server's reconcile sweep now, the one its
//! scheduler (Vercel Cron, or `livedrop serve`'s own timer) runs anyway:
//! `GET /api/cron/sweep` with `Authorization: Bearer $CRON_SECRET`. No
//! login: the server's secret is the permission, for either backend.

use std::time::Duration;

use serde_json::Value;

use super::Ctx;
use super::auth::read_password;
use super::client::{error_from, http_client, net_error, server_key};
use super::error::{CliError, Exit, Result};

/// A sweep may have much to remove; longer than an ordinary API call.
const TIMEOUT: Duration = Duration::from_secs(300);

/// The secret: the first line of standard input with `secret_stdin`, else
/// `$CRON_SECRET`.
fn secret(secret_stdin: bool) -> Result<String> {
    let s =
        if secret_stdin { read_password("", true, false)? } else { std::env::var("CRON_SECRET").unwrap_or_default() };
    let s = s.trim().to_owned();
    if s.is_empty() {
        let from = if secret_stdin { "standard input had an empty line" } else { "CRON_SECRET is not set" };
        return Err(CliError::usage(format!("{from}: sweep needs the server's CRON_SECRET"))
            .hint("run `CRON_SECRET=... livedrop sweep`, or pass the secret on standard input with --secret-stdin"));
    }
    Ok(s)
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// "removed 2 pending uploads, 1 orphan object, 0 upload sessions".
pub fn summary(answer: &Value) -> String {
    let n = |k: &str| answer[k].as_u64().unwrap_or(0);
    format!(
        "removed {}, {}, {}",
        plural(n("pending_files"), "pending upload", "pending uploads"),
        plural(n("orphan_objects"), "orphan object", "orphan objects"),
        plural(n("sessions"), "upload session", "upload sessions"),
    )
}

pub async fn sweep(ctx: &Ctx, secret_stdin: bool, json_out: bool) -> Result<()> {
    // `--server`, else the server of the last login; no login is needed.
    let base = ctx.server_url().map_err(|e| match e.exit {
        Exit::Auth => CliError::usage("which server? pass --server URL (or set LIVEDROP_SERVER)")
            .hint("e.g. CRON_SECRET=... livedrop sweep --server https://files.example.com"),
        _ => e,
    })?;
    let secret = secret(secret_stdin)?;
    let url = base.join("/api/cron/sweep").map_err(|e| CliError::failure(e.to_string()))?;
    let resp =
        http_client().get(url).bearer_auth(secret).timeout(TIMEOUT).send().await.map_err(|e| net_error(&e, &base))?;
    let server = server_key(&base);
    if !resp.status().is_success() {
        let e = error_from(resp).await;
        return Err(match e.exit {
            Exit::Auth => CliError { message: format!("{server} refused the secret: it is not its CRON_SECRET"), ..e }
                .hint("use the CRON_SECRET set in the server's environment (on Vercel: the project's variables)"),
            Exit::NotFound if e.code.as_deref() == Some("not_found") => CliError {
                message: format!("{server} does not sweep on request: it has no CRON_SECRET set"),
                ..e
            }
            .hint(
                "set CRON_SECRET in the server's environment (on Vercel: the project's variables) and restart it; \
                 a livedrop server older than this client has no such route either",
            ),
            _ => e,
        });
    }
    let answer: Value = resp.json().await.map_err(|e| net_error(&e, &base))?;
    if json_out {
        println!("{}", serde_json::to_string_pretty(&answer).unwrap_or_default());
    } else {
        println!("{}", summary(&answer));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_counts_in_words() {
        let a = serde_json::json!({ "pending_files": 2, "orphan_objects": 1, "sessions": 0 });
        assert_eq!(summary(&a), "removed 2 pending uploads, 1 orphan object, 0 upload sessions");
        let b = serde_json::json!({ "pending_files": 1, "orphan_objects": 0, "sessions": 1 });
        assert_eq!(summary(&b), "removed 1 pending upload, 0 orphan objects, 1 upload session");
    }
}

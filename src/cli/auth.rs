//! Signing in and out: `signup`, `login`, `logout`, `whoami`.
//!
//! Against a self-hosted server the client signs in with the e-mail and
//! password once, creates a personal API token named after this computer,
//! ends the browser-style session, and stores only the token: what is kept
//! on disk is revocable (`logout`, or the web app) and is not the password.
//!
//! `login --with-token` keeps an API token made elsewhere (the web app's
//! Account page) instead, once the server has said whose it is.
//!
//! Against a cloud deployment (`mode: "cloud"` in `/api/config`) it signs
//! in to the deployment's Firebase project with the e-mail and password
//! (see `firebase`), checks that the API accepts the result, and stores the
//! refresh token and the current ID token. Firebase has no call for a
//! client to revoke its own refresh token, so `logout` there forgets the
//! login on this computer; changing the password ends it everywhere.

use std::io::{BufRead, IsTerminal};

use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::{Value, json};

use super::Ctx;
use super::client::{Api, Auth, error_from, http_client, net_error, normalize_server, seg, server_key, str_field};
use super::config::Login;
use super::error::{CliError, Exit, Result};
use super::firebase;
use super::format;

const SESSION_COOKIE: &str = "livedrop_session";

/// Reads a password: one line of standard input with `--password-stdin`,
/// otherwise a prompt on the terminal that does not echo.
pub fn read_password(prompt: &str, from_stdin: bool, confirm: bool) -> Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| CliError::local(format!("cannot read the password from standard input: {e}")))?;
        let p = line.trim_end_matches(['\n', '\r']).to_owned();
        if p.is_empty() {
            return Err(CliError::usage("standard input had an empty line where the secret should be"));
        }
        return Ok(p);
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::usage("there is no terminal to ask for the password").hint("pass --password-stdin"));
    }
    let ask = |p: &str| {
        rpassword::prompt_password(p)
            .map_err(|e| CliError::usage(format!("cannot ask for the password: {e}")).hint("pass --password-stdin"))
    };
    let p = ask(prompt)?;
    if confirm && ask("Again, to be sure: ")? != p {
        return Err(CliError::usage("the two passwords differ"));
    }
    Ok(p)
}

fn token_name() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "this computer".into());
    let name = format!("livedrop CLI on {host}");
    name.chars().filter(|c| !c.is_control()).take(100).collect()
}

/// The deployment's `/api/config`: which kind it is, and for the cloud,
/// its Firebase project.
async fn server_config(http: &reqwest::Client, base: &reqwest::Url) -> Result<Value> {
    let url = base.join("/api/config").map_err(|e| CliError::usage(e.to_string()))?;
    let resp = http.get(url).send().await.map_err(|e| net_error(&e, base))?;
    if !resp.status().is_success() {
        return Err(CliError::failure(format!(
            "{} does not look like a livedrop server (GET /api/config answered {})",
            server_key(base),
            resp.status()
        )));
    }
    let v: Value = resp
        .json()
        .await
        .map_err(|_| CliError::failure(format!("{} does not look like a livedrop server", server_key(base))))?;
    Ok(v)
}

/// Signs up or in (`path`) with a password and trades the session for an
/// API token.
async fn self_hosted(base: &reqwest::Url, path: &str, email: &str, password: &str) -> Result<Login> {
    let http = http_client();
    let url = |p: &str| base.join(p).map_err(|e| CliError::usage(e.to_string()));
    let resp = http
        .post(url(path)?)
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .map_err(|e| net_error(&e, base))?;
    if !resp.status().is_success() {
        return Err(error_from(resp).await);
    }
    let cookie = resp
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.split(';').next()?.trim().strip_prefix(SESSION_COOKIE)?.strip_prefix('=').map(str::to_owned))
        .ok_or_else(|| CliError::failure("the server signed in but sent no session"))?;
    let body: Value = resp.json().await.map_err(|e| net_error(&e, base))?;
    let csrf = str_field(&body, "csrf_token")?.to_owned();
    let user_id = str_field(&body["user"], "id")?.to_owned();
    let email = str_field(&body["user"], "email")?.to_owned();
    let session = format!("{SESSION_COOKIE}={cookie}");

    let resp = http
        .post(url("/api/tokens")?)
        .header(COOKIE, &session)
        .header("x-csrf-token", &csrf)
        .json(&json!({ "name": token_name() }))
        .send()
        .await
        .map_err(|e| net_error(&e, base))?;
    if !resp.status().is_success() {
        return Err(error_from(resp).await);
    }
    let t: Value = resp.json().await.map_err(|e| net_error(&e, base))?;
    let login = Login::ApiToken {
        email,
        user_id,
        token_id: str_field(&t["token"], "id")?.to_owned(),
        token: str_field(&t, "secret")?.to_owned(),
    };
    // The session was only the way to the token.
    let _ = http.post(url("/api/auth/signout")?).header(COOKIE, &session).send().await;
    Ok(login)
}

/// Revokes a login's credential on its server, as far as it can.
async fn revoke(base: &reqwest::Url, login: &Login) -> Result<()> {
    match login {
        Login::ApiToken { token, token_id, .. } => {
            let api = Api::new(base.clone(), Auth::Bearer(token.clone()));
            match api.delete(&format!("/api/tokens/{}", seg(token_id))).await {
                // Already revoked: nothing left to do.
                Err(e) if e.exit == Exit::Auth || e.exit == Exit::NotFound => Ok(()),
                r => r,
            }
        }
        // Nothing to revoke from here (see the module comment).
        Login::Firebase { .. } => Ok(()),
    }
}

/// Signs in to a cloud deployment's Firebase project and checks that the
/// API takes the result. An address Firebase has not verified is refused
/// by the API outside the emulator: then the verification mail goes out
/// and nothing is stored, as in the web app.
async fn cloud(
    ctx: &Ctx,
    base: &reqwest::Url,
    config: &Value,
    email: &str,
    password: &str,
    new_account: bool,
) -> Result<Login> {
    let project = firebase::Project::from_config(config)?;
    if let (Some(emulator), false) = (&project.emulator, ctx.quiet) {
        eprintln!("livedrop: note: this deployment uses the Firebase Auth emulator at {emulator}");
    }
    let tokens = firebase::password(&project, email, password, new_account).await?;
    let api = Api::new(base.clone(), Auth::Bearer(tokens.id_token.clone()));
    let me = match api.get("/api/me").await {
        Ok(me) => me,
        Err(e) if e.exit == Exit::Auth && !firebase::email_verified(&tokens.id_token) => {
            firebase::send_verification(&project, &tokens.id_token).await?;
            return Err(CliError::new(
                Exit::Auth,
                format!("confirm your e-mail address first: Firebase sent a link to {email}"),
            )
            .hint("open the link, then run `livedrop login` again"));
        }
        Err(e) if e.exit == Exit::Auth => {
            return Err(CliError::new(Exit::Auth, format!("{} did not accept this account", server_key(base))));
        }
        Err(e) => return Err(e),
    };
    Ok(Login::Firebase {
        email: str_field(&me["user"], "email")?.to_owned(),
        user_id: tokens.user_id,
        api_key: project.api_key,
        emulator: project.emulator,
        refresh_token: tokens.refresh_token,
        id_token: tokens.id_token,
        expires_at: tokens.expires_at,
    })
}

/// The server a sign-in is for (`--server`), and its `/api/config`.
async fn sign_in_target(ctx: &Ctx) -> Result<(reqwest::Url, String, Value)> {
    let server = ctx.server.as_deref().ok_or_else(|| {
        CliError::usage("which server? pass --server URL (or set LIVEDROP_SERVER)")
            .hint("e.g. livedrop login --server http://127.0.0.1:8080 --email you@example.com")
    })?;
    let base = normalize_server(server)?;
    let key = server_key(&base);
    let config = server_config(&http_client(), &base).await?;
    let mode = config["mode"].as_str().unwrap_or("self-hosted");
    if !matches!(mode, "self-hosted" | "cloud") {
        return Err(CliError::failure(format!("{key} is a livedrop server of an unknown kind ({mode})")));
    }
    Ok((base, key, config))
}

fn is_cloud(config: &Value) -> bool {
    config["mode"] == "cloud"
}

/// Stores a new login for the server, makes it the default, and revokes
/// the one it replaces.
async fn keep(ctx: &Ctx, base: &reqwest::Url, key: &str, login: Login, verb: &str) -> Result<()> {
    let mut creds = ctx.paths.load_credentials()?;
    let old = creds.servers.insert(key.to_owned(), login.clone());
    creds.default_server = Some(key.to_owned());
    ctx.paths.save_credentials(&creds)?;
    match (old, &login) {
        // The same token again: it stays.
        (Some(Login::ApiToken { token_id: a, .. }), Login::ApiToken { token_id: b, .. }) if a == *b => {}
        // One token per computer and server: the previous one goes.
        (Some(old), _) => {
            let _ = revoke(base, &old).await;
        }
        (None, _) => {}
    }
    println!("{verb} as {} on {key}", login.email());
    Ok(())
}

pub async fn sign_in(ctx: &Ctx, email: &str, password_stdin: bool, new_account: bool) -> Result<()> {
    let (base, key, config) = sign_in_target(ctx).await?;
    let prompt = format!("Password for {email} on {key}: ");
    let password = read_password(&prompt, password_stdin, new_account)?;
    let login = if is_cloud(&config) {
        cloud(ctx, &base, &config, email, &password, new_account).await?
    } else {
        let path = if new_account { "/api/auth/signup" } else { "/api/auth/signin" };
        self_hosted(&base, path, email, &password).await?
    };
    let verb = if new_account { "created an account and signed in" } else { "signed in" };
    keep(ctx, &base, &key, login, verb).await
}

/// `login --with-token`: an API token made in the web app (or by another
/// login), from standard input or a prompt that does not echo.
pub async fn sign_in_with_token(ctx: &Ctx) -> Result<()> {
    let (base, key, config) = sign_in_target(ctx).await?;
    if is_cloud(&config) {
        return Err(CliError::usage(format!(
            "{key} is a cloud deployment: it has no API tokens; sign in with --email and your password"
        )));
    }
    let piped = !std::io::stdin().is_terminal();
    let token = read_password(&format!("API token for {key}: "), piped, false)?.trim().to_owned();
    let api = Api::new(base.clone(), Auth::Bearer(token.clone()));
    let me = match api.get("/api/me").await {
        Err(e) if e.exit == Exit::Auth => {
            return Err(CliError::new(Exit::Auth, format!("{key} does not accept that token"))
                .hint("copy it again from Account in the web app; it may have been revoked"));
        }
        r => r?,
    };
    let token_id = str_field(&me, "token_id")
        .map_err(|_| CliError::usage("that is not an API token (a session or another kind of credential)"))?;
    let login = Login::ApiToken {
        email: str_field(&me["user"], "email")?.to_owned(),
        user_id: str_field(&me["user"], "id")?.to_owned(),
        token_id: token_id.to_owned(),
        token,
    };
    keep(ctx, &base, &key, login, "signed in with the token").await
}

pub async fn logout(ctx: &Ctx) -> Result<()> {
    let base = ctx.server_url()?;
    let key = server_key(&base);
    let mut creds = ctx.paths.load_credentials()?;
    let Some(login) = creds.servers.remove(&key) else {
        return Err(CliError::new(Exit::Auth, format!("not signed in to {key}")));
    };
    if creds.default_server.as_deref() == Some(key.as_str()) {
        creds.default_server = creds.servers.keys().next().cloned();
    }
    ctx.paths.save_credentials(&creds)?;
    if let Login::Firebase { .. } = login {
        println!("signed out of {key} on this computer");
        return Ok(());
    }
    match revoke(&base, &login).await {
        Ok(()) => println!("signed out of {key}; its token is revoked"),
        Err(e) => {
            println!("signed out of {key}");
            eprintln!(
                "livedrop: warning: could not revoke the token on the server ({}); revoke it in the web app",
                e.message
            );
        }
    }
    Ok(())
}

/// Proves the signed-in person's address with a letter's or an
/// invitation's link (or just its token).
pub async fn verify(ctx: &Ctx, link: &str) -> Result<()> {
    let api = ctx.api()?;
    let token = link.rsplit_once("token=").map_or(link, |(_, t)| t);
    let token = token.split(['&', '#']).next().unwrap_or(token).trim();
    api.post("/api/auth/verify", &serde_json::json!({ "token": token })).await?;
    let me = api.get("/api/me").await?;
    let email = str_field(&me["user"], "email")?;
    println!("{email} is confirmed; files shared with it are in `livedrop ls --shared`");
    Ok(())
}

pub async fn whoami(ctx: &Ctx, json_out: bool) -> Result<()> {
    let api = ctx.api()?;
    let me = api.get("/api/me").await?;
    if json_out {
        let mut v = me.clone();
        v["server"] = Value::String(api.server());
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return Ok(());
    }
    let email = str_field(&me["user"], "email")?;
    let used = me["usage"]["used"].as_u64().unwrap_or(0);
    let quota = me["usage"]["quota"].as_u64();
    let usage = match quota {
        Some(q) => format!("{} of {} used", format::size(used), format::size(q)),
        None => format!("{} used", format::size(used)),
    };
    println!("{email} on {} ({usage})", api.server());
    Ok(())
}

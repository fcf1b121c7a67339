//! The Content-Security-Policy of the web app's pages.
//!
//! The app is Next's static export (`web/out`). Its pages carry inline
//! `<script>`s (the Turbopack chunk list and the React Server Components
//! payload, `self.__next_f.push(...)`), so `script-src` allows exactly those
//! by their SHA-256, and nothing inline besides: no `'unsafe-inline'`, no
//! `'unsafe-eval'`. The hashes are read from the HTML files themselves when a
//! server starts (`Pages`), so any build of the export serves under its own
//! policy; one policy, the union of every page's hashes, covers all pages
//! (each hash is of a script of this build, none of anything a visitor sent).
//!
//! Vercel serves the same pages with the policy in `vercel.json`, which is
//! static: `web/scripts/csp.mjs` (run by `npm run build`) writes the
//! hashes of the export into it, and checks them instead on Vercel and in
//! CI, failing the build rather than deploying pages their policy blocks.
//! `tests/csp.rs` keeps its other directives equal to
//! `policy(.., &Origins::vercel())`.

use std::collections::BTreeSet;
use std::path::Path;

use base64::Engine;
use sha2::{Digest, Sha256};

/// The exported web app a server serves at `/`, and where its pages may
/// reach beyond their own origin.
#[derive(Clone, Debug, Default)]
pub struct Pages<'a> {
    pub dir: Option<&'a Path>,
    pub origins: Origins,
}

/// Self-hosted: the pages reach only their own origin.
impl<'a> From<Option<&'a Path>> for Pages<'a> {
    fn from(dir: Option<&'a Path>) -> Self {
        Self { dir, origins: Origins::default() }
    }
}

/// What the pages may reach besides their own origin (HTTP and WebSocket,
/// `'self'`, which is always allowed). Each entry is a CSP source
/// expression, e.g. `https://firestore.googleapis.com`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origins {
    /// `fetch`, XHR, WebSocket: the API of a cloud backend.
    pub connect: Vec<String>,
    /// Where signed file URLs point: previews (`<img>`, `<video>`,
    /// `<audio>`) load from it, and uploads and text and PDF previews
    /// `fetch` it, so it goes into `img-src`, `media-src` and `connect-src`.
    pub files: Vec<String>,
    /// Frames besides the PDF preview's `blob:` one: Firebase Auth's.
    pub frames: Vec<String>,
    /// Scripts besides this origin's: Google's sign-in loader.
    pub scripts: Vec<String>,
}

/// Cloud Storage's production endpoint, where signed URLs point.
pub const GOOGLE_STORAGE: &str = "https://storage.googleapis.com";
/// Firebase Auth's REST APIs (sign-in, and ID token refresh).
pub const GOOGLE_AUTH: [&str; 2] = ["https://identitytoolkit.googleapis.com", "https://securetoken.googleapis.com"];
/// Firestore's, which the live lists listen to.
pub const GOOGLE_FIRESTORE: &str = "https://firestore.googleapis.com";
/// "Continue with Google" (Firebase Auth's `signInWithPopup`) loads
/// Google's `gapi` from here, even against the Auth emulator, and frames
/// the project's auth domain (`https://PROJECT.firebaseapp.com/__/auth/iframe`).
pub const GOOGLE_SIGN_IN_SCRIPT: &str = "https://apis.google.com";

impl Origins {
    /// Cloud mode, from the server's settings: the web app's Firebase
    /// config as `GET /api/config` hands it to browsers (its `authDomain`,
    /// and `emulators.auth` / `emulators.firestore` when the server uses
    /// the emulators, which the browser then uses too), and the storage
    /// endpoint signed URLs point at (`scheme://host[:port]`).
    pub fn firebase(web_config: &serde_json::Value, storage: &str) -> Self {
        let text = |v: &serde_json::Value| v.as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        let http = |host: String| if host.contains("://") { host } else { format!("http://{host}") };
        let emulators = &web_config["emulators"];
        let auth_domain = text(&web_config["authDomain"])
            .or_else(|| text(&web_config["projectId"]).map(|p| format!("{p}.firebaseapp.com")))
            .map(|d| if d.contains("://") { d } else { format!("https://{d}") });
        let mut o =
            Origins { files: vec![storage.to_owned()], scripts: vec![GOOGLE_SIGN_IN_SCRIPT.into()], ..Self::default() };
        match text(&emulators["auth"]).map(http) {
            // The emulator serves the REST APIs and the sign-in frame.
            Some(emulator) => {
                o.connect.push(emulator.clone());
                o.frames.push(emulator);
            }
            None => {
                o.connect.extend(GOOGLE_AUTH.map(str::to_owned));
                o.frames.extend(auth_domain);
            }
        }
        o.connect.push(text(&emulators["firestore"]).map(http).unwrap_or_else(|| GOOGLE_FIRESTORE.into()));
        o
    }

    /// What `vercel.json` allows: production Firebase, whose auth domain is
    /// the project's `*.firebaseapp.com` (a static file cannot name the
    /// project; a custom `authDomain` is added there by hand), and signed
    /// URLs on Google's endpoint (`LIVEDROP_GCS_ENDPOINT` unset).
    pub fn vercel() -> Self {
        let mut connect: Vec<String> = GOOGLE_AUTH.map(str::to_owned).into();
        connect.push(GOOGLE_FIRESTORE.into());
        Origins {
            connect,
            files: vec![GOOGLE_STORAGE.into()],
            frames: vec!["https://*.firebaseapp.com".into()],
            scripts: vec![GOOGLE_SIGN_IN_SCRIPT.into()],
        }
    }
}

/// `'sha256-…'` of every inline script of one HTML page (not those with a
/// `src`), over the text the browser hashes: the bytes between the tags,
/// line breaks normalised to `\n` as the HTML parser does.
pub fn inline_script_hashes(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let lower = html.to_ascii_lowercase();
    let mut at = 0;
    while let Some(i) = lower[at..].find("<script") {
        let start = at + i + "<script".len();
        // `<scripts>` or `<script-x>` is another element.
        if !lower[start..].starts_with(|c: char| c == '>' || c == '/' || c.is_ascii_whitespace()) {
            at = start;
            continue;
        }
        let Some(tag_end) = tag_end(&lower, start) else { break };
        let has_src = attribute_names(&lower[start..tag_end]).any(|n| n == "src");
        let body_start = tag_end + 1;
        let Some(body_len) = lower[body_start..].find("</script") else { break };
        let body = &html[body_start..body_start + body_len];
        if !has_src {
            let text = body.replace("\r\n", "\n").replace('\r', "\n");
            let digest = Sha256::digest(text.as_bytes());
            out.push(format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(digest)));
        }
        at = body_start + body_len;
    }
    out
}

/// The index of the `>` closing a start tag whose attributes begin at
/// `from`, skipping quoted values.
fn tag_end(s: &str, from: usize) -> Option<usize> {
    let mut quote = None;
    for (i, c) in s[from..].char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => return Some(from + i),
            _ => {}
        }
    }
    None
}

/// The attribute names of a start tag's attribute text (`src="a" async`).
fn attribute_names(attrs: &str) -> impl Iterator<Item = &str> {
    let mut rest = attrs;
    std::iter::from_fn(move || {
        rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '/');
        if rest.is_empty() {
            return None;
        }
        let end = rest.find(|c: char| c.is_ascii_whitespace() || c == '=' || c == '/').unwrap_or(rest.len());
        let (name, after) = rest.split_at(end);
        rest = after.trim_start();
        if let Some(value) = rest.strip_prefix('=') {
            let value = value.trim_start();
            rest = match value.chars().next() {
                Some(q @ ('"' | '\'')) => value[1..].find(q).map_or("", |j| &value[j + 2..]),
                _ => value.find(|c: char| c.is_ascii_whitespace()).map_or("", |j| &value[j..]),
            };
        }
        Some(name)
    })
}

/// The hashes of the inline scripts of every `.html` file under `dir`.
pub fn web_dir_hashes(dir: &Path) -> std::io::Result<BTreeSet<String>> {
    let mut hashes = BTreeSet::new();
    let mut dirs = vec![dir.to_owned()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "html") {
                hashes.extend(inline_script_hashes(&std::fs::read_to_string(&path)?));
            }
        }
    }
    Ok(hashes)
}

/// The policy, given the pages' inline script hashes.
pub fn policy<'a>(script_hashes: impl IntoIterator<Item = &'a String>, origins: &'a Origins) -> String {
    let list = |first: &[&str], more: &[&String]| -> String {
        let mut all: Vec<&str> = first.to_vec();
        for m in more {
            if !all.contains(&m.as_str()) {
                all.push(m);
            }
        }
        all.join(" ")
    };
    let files: Vec<&String> = origins.files.iter().collect();
    let mut scripts: Vec<&String> = origins.scripts.iter().collect();
    scripts.extend(script_hashes);
    let connect: Vec<&String> = origins.connect.iter().chain(&origins.files).collect();
    let frames: Vec<&String> = origins.frames.iter().collect();
    [
        "default-src 'self'".to_owned(),
        format!("script-src {}", list(&["'self'"], &scripts)),
        // Stylesheets only from this origin. Attributes: the export's
        // static HTML carries React `style={{...}}` props as `style="..."`
        // attributes (the sign-in and sign-up pages have some), which CSP
        // blocks without 'unsafe-inline' here; these can only style the
        // element they sit on (no selectors, and url()s only to img-src),
        // and `<style>` elements stay forbidden. (Styles React sets later go
        // through the CSSOM, which CSP does not restrict.)
        "style-src 'self'".to_owned(),
        "style-src-attr 'unsafe-inline'".to_owned(),
        format!("img-src {}", list(&["'self'"], &files)),
        format!("media-src {}", list(&["'self'"], &files)),
        // 'self' covers ws:// and wss:// to this host (the live feed).
        format!("connect-src {}", list(&["'self'"], &connect)),
        // blob:: the PDF preview, framed from memory.
        format!("frame-src {}", list(&["blob:"], &frames)),
        "object-src 'none'".to_owned(),
        "base-uri 'none'".to_owned(),
        "form-action 'self'".to_owned(),
        "frame-ancestors 'none'".to_owned(),
    ]
    .join("; ")
}

impl Pages<'_> {
    /// The policy of these pages, their hashes read from `dir`; a page
    /// that cannot be read contributes none, and is then blocked.
    pub fn policy(&self) -> String {
        let hashes = match self.dir {
            Some(dir) if dir.join("index.html").exists() => web_dir_hashes(dir).unwrap_or_else(|e| {
                tracing::error!(dir = %dir.display(), error = %e, "cannot read the web app for its script hashes");
                BTreeSet::new()
            }),
            _ => BTreeSet::new(),
        };
        policy(&hashes, &self.origins)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(text: &str) -> String {
        format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes())))
    }

    #[test]
    fn hashes_inline_scripts_only() {
        let html = "<head><script src=\"/a.js\" async=\"\"></script><SCRIPT id=\"_R_\">a()</SCRIPT>\
                    <script data-x='>' >b(\"</scrip\")\r\n</script><scripts>no</scripts>\
                    <script async src=/b.js></script><script></script></head>";
        assert_eq!(inline_script_hashes(html), vec![sha("a()"), sha("b(\"</scrip\")\n"), sha("")]);
        // An attribute value naming src is not a src.
        assert_eq!(inline_script_hashes("<script data-src=\"x\" title='src'>c</script>"), vec![sha("c")]);
    }

    #[test]
    fn sha256_of_empty_is_the_known_value() {
        assert_eq!(sha(""), "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='");
    }

    #[test]
    fn firebase_origins_follow_the_configuration() {
        let emulated = serde_json::json!({
            "projectId": "demo-x",
            "emulators": { "auth": "http://127.0.0.1:9099", "firestore": "127.0.0.1:8086" }
        });
        let o = Origins::firebase(&emulated, "http://127.0.0.1:9023");
        assert_eq!(o.connect, ["http://127.0.0.1:9099", "http://127.0.0.1:8086"]);
        assert_eq!(o.frames, ["http://127.0.0.1:9099"]);
        assert_eq!(o.files, ["http://127.0.0.1:9023"]);

        let production = serde_json::json!({ "projectId": "p", "emulators": { "auth": null, "firestore": null } });
        let o = Origins::firebase(&production, GOOGLE_STORAGE);
        let mut vercel = Origins::vercel();
        vercel.frames = vec!["https://p.firebaseapp.com".into()];
        assert_eq!(o, vercel);
    }

    #[test]
    fn the_policy_lists_hashes_and_origins() {
        let p = policy(&[sha("a")], &Origins::vercel());
        assert!(p.contains(&format!("script-src 'self' https://apis.google.com {}", sha("a"))), "{p}");
        assert!(p.contains("connect-src 'self' https://identitytoolkit.googleapis.com"), "{p}");
        assert!(p.contains("https://firestore.googleapis.com https://storage.googleapis.com;"), "{p}");
        assert!(p.contains("img-src 'self' https://storage.googleapis.com;"), "{p}");
        assert!(p.ends_with("object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"), "{p}");
        assert!(!p.contains("unsafe-eval") && !p.contains("script-src 'unsafe-inline'"));
        let selfhosted = policy(&[], &Origins::default());
        assert!(selfhosted.contains("connect-src 'self';") && selfhosted.contains("frame-src blob:;"), "{selfhosted}");
    }
}

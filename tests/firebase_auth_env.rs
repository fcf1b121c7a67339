//! `FirebaseAuthConfig::from_env` follows `FIREBASE_AUTH_EMULATOR_HOST`
//! and `LIVEDROP_REQUIRE_VERIFIED_EMAIL`.
//!
//! Alone in its own test binary: it changes the process environment, which
//! tests running in parallel threads of one binary must not see change.

use livedrop::cloud::firebase_auth::{FirebaseAuthConfig, GOOGLE_CERTS_URL};

#[test]
fn emulator_mode_is_on_exactly_while_the_emulator_variable_is_set() {
    // SAFETY: the only test in this binary, so no other thread reads the
    // environment while it changes.
    unsafe { std::env::remove_var("FIREBASE_AUTH_EMULATOR_HOST") };
    unsafe { std::env::set_var("LIVEDROP_REQUIRE_VERIFIED_EMAIL", "0") };
    let c = FirebaseAuthConfig::from_env("demo-livedrop").unwrap();
    assert!(!c.emulator && !c.accept_unverified_email, "production: signed, verified tokens only");
    assert_eq!((c.project_id.as_str(), c.certs_url.as_str()), ("demo-livedrop", GOOGLE_CERTS_URL));

    unsafe { std::env::set_var("FIREBASE_AUTH_EMULATOR_HOST", "") };
    assert!(!FirebaseAuthConfig::from_env("demo-livedrop").unwrap().emulator, "an empty value is not an emulator");
    assert!(!FirebaseAuthConfig::from_env("my-real-project").unwrap().emulator, "production, without the variable");

    unsafe { std::env::set_var("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9099") };
    let c = FirebaseAuthConfig::from_env("demo-livedrop").unwrap();
    assert!(c.emulator && c.accept_unverified_email);

    // A stray emulator variable with a real project: refused, saying why.
    let refused = match FirebaseAuthConfig::from_env("my-real-project") {
        Err(livedrop::Error::Internal(cause)) => cause.to_string(),
        other => panic!("{other:?}"),
    };
    assert!(refused.contains("FIREBASE_AUTH_EMULATOR_HOST") && refused.contains("demo-"), "{refused}");

    // And a deployment so configured does not start.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_livedrop"))
        .args(["serve", "--backend", "firebase", "--listen", "127.0.0.1:0", "--web-dir", "/nonexistent"])
        .env("LIVEDROP_FIREBASE_PROJECT", "my-real-project")
        .env("LIVEDROP_GCS_BUCKET", "my-real-project.firebasestorage.app")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "it started: {stderr}");
    assert!(stderr.contains("refusing to start") && stderr.contains("demo-"), "{stderr}");

    // Production's rule on the emulator, to try the verification flow.
    unsafe { std::env::set_var("LIVEDROP_REQUIRE_VERIFIED_EMAIL", "1") };
    let c = FirebaseAuthConfig::from_env("demo-livedrop").unwrap();
    assert!(c.emulator && !c.accept_unverified_email);
}

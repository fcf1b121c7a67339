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
    let c = FirebaseAuthConfig::from_env("demo-livedrop");
    assert!(!c.emulator && !c.accept_unverified_email, "production: signed, verified tokens only");
    assert_eq!((c.project_id.as_str(), c.certs_url.as_str()), ("demo-livedrop", GOOGLE_CERTS_URL));

    unsafe { std::env::set_var("FIREBASE_AUTH_EMULATOR_HOST", "") };
    assert!(!FirebaseAuthConfig::from_env("demo-livedrop").emulator, "an empty value is not an emulator");

    unsafe { std::env::set_var("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9099") };
    let c = FirebaseAuthConfig::from_env("demo-livedrop");
    assert!(c.emulator && c.accept_unverified_email);

    // Production's rule on the emulator, to try the verification flow.
    unsafe { std::env::set_var("LIVEDROP_REQUIRE_VERIFIED_EMAIL", "1") };
    let c = FirebaseAuthConfig::from_env("demo-livedrop");
    assert!(c.emulator && !c.accept_unverified_email);
}

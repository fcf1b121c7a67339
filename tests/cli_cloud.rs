//! The `livedrop` client against a cloud deployment: the real binary, run
//! as a process, against `livedrop serve --backend firebase` on the
//! Firestore emulator, the Firebase Auth emulator and fake-gcs-server (the
//! ones `scripts/emulators.sh start` runs, or private ones: see
//! `livedrop::cloud::emulator`). Signing up and in goes through Firebase
//! Auth's REST API exactly as it would in production, only at the
//! emulator's address, which the deployment's `/api/config` names.
//!
//! Not here: a killed upload resumed against the cloud. fake-gcs-server
//! commits a resumable session when asked for its status (see
//! tests/gcs_fake_server.rs), so the resume would be testing the emulator's
//! bug; the client's resume logic is the same for both deployments and is
//! tested in tests/cli.rs.

mod common;

use std::path::Path;

use common::cli::{PASSWORD, Person, random_bytes};
use common::cloud::CloudServer as Cloud;
use serde_json::{Value, json};

fn credentials(p: &Person) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p.config.path().join("credentials.json")).unwrap()).unwrap()
}

/// Rewrites this person's stored login for `base`.
fn edit_login(p: &Person, base: &str, edit: impl FnOnce(&mut Value)) {
    let mut creds = credentials(p);
    edit(&mut creds["servers"][base]);
    std::fs::write(p.config.path().join("credentials.json"), creds.to_string()).unwrap();
}

fn signup(cloud: &Cloud, p: &Person, email: &str, password: &str) -> common::cli::Out {
    p.input(&["signup", "--server", &cloud.base, "--email", email, "--password-stdin"], &format!("{password}\n"))
}

#[test]
fn firebase_logins_are_stored_privately_refreshed_and_ended() {
    let cloud = Cloud::start_blocking(&[]);
    let ann_email = Cloud::email("ann");
    let ann = Person::new();
    let made = signup(&cloud, &ann, &ann_email, PASSWORD).ok();
    assert!(made.stdout.contains(&format!("created an account and signed in as {ann_email}")), "{}", made.stdout);
    assert!(made.stderr.contains("uses the Firebase Auth emulator at http://"), "{}", made.stderr);

    // What is kept: a Firebase login, never the password, readable by its owner alone.
    let stored = credentials(&ann);
    let login = &stored["servers"][&cloud.base];
    assert_eq!(login["kind"], "firebase", "{stored}");
    assert_eq!(login["email"], ann_email.as_str());
    assert!(login["refresh_token"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(!stored.to_string().contains(PASSWORD));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let creds = ann.config.path().join("credentials.json");
        assert_eq!(std::fs::metadata(&creds).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let me = ann.run(&["whoami", "--json"]).ok().json();
    assert_eq!(me["user"]["email"], ann_email.as_str());
    assert_eq!(me["user"]["id"], login["user_id"]);

    // Firebase's refusals, in words and exit codes.
    let login_args = ["login", "--server", &cloud.base, "--email", &ann_email, "--password-stdin"];
    ann.input(&login_args, "not the password\n").fails(3, "wrong e-mail address or password");
    let stranger = ["login", "--server", &cloud.base, "--email", "nobody-here@example.com", "--password-stdin"];
    ann.input(&stranger, "whatever1\n").fails(3, "wrong e-mail address or password");
    signup(&cloud, &Person::new(), &ann_email, PASSWORD).fails(7, "already an account");
    signup(&cloud, &Person::new(), &Cloud::email("weak"), "abc").fails(2, "too weak");
    signup(&cloud, &Person::new(), "not-an-address", PASSWORD).fails(2, "not a valid e-mail address");
    let with_token = ["login", "--server", &cloud.base, "--with-token"];
    Person::new().input(&with_token, "ldt_x\n").fails(2, "has no API tokens");

    // An expired ID token is refreshed from the refresh token, and the new
    // one is stored for the next command.
    edit_login(&ann, &cloud.base, |l| l["expires_at"] = json!(0));
    ann.run(&["ls"]).ok();
    let after = &credentials(&ann)["servers"][&cloud.base];
    assert!(after["expires_at"].as_i64().unwrap() > jiff::Timestamp::now().as_second() + 600, "{after}");

    // An ID token the API refuses before its time: one fresh token, one retry.
    edit_login(&ann, &cloud.base, |l| l["id_token"] = json!("eyJhbGciOiJub25lIn0.e30."));
    ann.run(&["ls"]).ok();

    // A refresh token Firebase no longer honours ends the login, clearly.
    let copy = Person::new();
    std::fs::copy(ann.config.path().join("credentials.json"), copy.config.path().join("credentials.json")).unwrap();
    edit_login(&copy, &cloud.base, |l| {
        l["refresh_token"] = json!("not-a-refresh-token");
        l["expires_at"] = json!(0);
    });
    copy.run(&["ls"]).fails(3, "no longer valid");

    // A disabled account cannot refresh its login.
    let user_id = login["user_id"].as_str().unwrap().to_owned();
    cloud.disable(&user_id);
    edit_login(&ann, &cloud.base, |l| l["expires_at"] = json!(0));
    let ended = ann.run(&["ls"]).fails(3, "no longer valid");
    assert!(ended.stderr.contains("livedrop login --server"), "{}", ended.stderr);
    ann.input(&login_args, &format!("{PASSWORD}\n")).fails(3, "disabled");

    // Logging out forgets the login on this computer.
    let bob = Person::new();
    signup(&cloud, &bob, &Cloud::email("bob"), PASSWORD).ok();
    let out = bob.run(&["logout"]).ok();
    assert!(out.stdout.contains("on this computer"), "{}", out.stdout);
    bob.run(&["whoami"]).fails(3, "not signed in");
    assert!(credentials(&bob)["servers"].as_object().unwrap().is_empty());
}

/// Ann and Bob, signed up (and so signed in), and Bob's address.
fn ann_and_bob(cloud: &Cloud) -> (Person, Person, String) {
    let ann = Person::new();
    signup(cloud, &ann, &Cloud::email("ann"), PASSWORD).ok();
    let (bob, bob_email) = (Person::new(), Cloud::email("bob"));
    signup(cloud, &bob, &bob_email, PASSWORD).ok();
    (ann, bob, bob_email)
}

#[test]
fn files_shares_and_links_work_the_same_against_the_cloud() {
    let cloud = Cloud::start_blocking(&[]);
    let (ann, bob, bob_email) = ann_and_bob(&cloud);

    // Small and resumable (over the 8 MiB threshold) uploads, to the bucket
    // on URLs the server signed, and back.
    let notes = b"minutes of the meeting\n".to_vec();
    ann.write("notes.txt", &notes);
    let big = random_bytes(10 * 1024 * 1024 + 123);
    ann.write("big.bin", &big);
    let up = ann.run(&["put", "notes.txt", "big.bin"]).ok();
    assert!(up.stdout.contains("uploaded notes.txt (23 B)") && up.stdout.contains("uploaded big.bin"), "{}", up.stdout);
    let listed = ann.run(&["ls", "--json"]).ok().json();
    let mut names: Vec<&str> =
        listed["files"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["big.bin", "notes.txt"]);
    // Again: both are there already (the cloud's records carry the same
    // CRC32C), so nothing is sent.
    let again = ann.run(&["put", "notes.txt", "big.bin"]).ok();
    assert!(again.stderr.contains("notes.txt is already there (same size and checksum): skipped"), "{}", again.stderr);
    assert!(again.stderr.contains("big.bin is already there") && !again.stdout.contains("uploaded"), "{again:?}");
    assert_eq!(ann.run(&["ls", "--json"]).ok().json()["files"].as_array().unwrap().len(), 2);
    ann.run(&["get", "big.bin", "-o", "big.back"]).ok();
    assert!(ann.read("big.back") == big, "the download differs from the upload");
    ann.run(&["mv", "notes.txt", "minutes.txt"]).ok();

    // Bob sees nothing of Ann's until she shares it, then can read it only.
    let id = ann.file_id("minutes.txt");
    bob.run(&["get", &id]).fails(4, "no file with that id");
    ann.run(&["share", "minutes.txt", &bob_email]).ok();
    let shared = bob.run(&["ls", "--shared", "--json"]).ok().json();
    assert_eq!(shared["shared"][0]["name"], "minutes.txt", "{shared}");
    bob.run(&["get", "minutes.txt"]).ok();
    assert_eq!(bob.read("minutes.txt"), notes);
    bob.run(&["rm", &id]).fails(4, "file not found");
    ann.run(&["unshare", "minutes.txt", &bob_email]).ok();
    bob.run(&["get", &id, "-o", "again.txt"]).fails(4, "no file with that id");

    // A password link, opened by someone signed in nowhere.
    let url = ann.input(&["link", "minutes.txt", "--password-stdin", "--max-downloads", "1"], "link-pass-1\n").ok();
    let url = url.stdout.trim().to_owned();
    assert!(url.starts_with(&format!("{}/s/", cloud.base)), "{url}");
    let anon = Person::new();
    anon.input(&["open", &url, "--password-stdin"], "wrong-pass\n").fails(7, "wrong password");
    anon.input(&["open", &url, "--password-stdin"], "link-pass-1\n").ok();
    assert_eq!(anon.read("minutes.txt"), notes);
    anon.input(&["open", &url, "--password-stdin", "-o", "2.txt"], "link-pass-1\n").fails(7, "download limit");

    // The prototype's shell works the same.
    let shell = ann.input(&["shell"], "LIST\nDOWNLOAD \"minutes.txt\"\nEXIT\n").ok();
    assert!(shell.stdout.contains("minutes.txt") && shell.stdout.contains("big.bin"), "{}", shell.stdout);
    assert!(Path::new(&ann.path("minutes.txt")).exists());

    // The live feed is the browsers' (Firestore) in the cloud: a clear refusal.
    ann.run(&["watch"]).fails(7, "cloud deployment");

    ann.run(&["rm", "minutes.txt", "big.bin"]).ok();
    assert!(ann.run(&["ls", "--json"]).ok().json()["files"].as_array().unwrap().is_empty());
}

/// `ls PATH --json` of a folder: its folders' and files' names.
fn listed(p: &Person, folder: &str) -> (Vec<String>, Vec<String>) {
    let v = p.run(&["ls", folder, "--json"]).ok().json();
    let names = |k: &str| -> Vec<String> {
        v[k].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap().to_owned()).collect()
    };
    (names("folders"), names("files"))
}

#[test]
fn folders_upload_share_and_come_back_the_same_against_the_cloud() {
    let cloud = Cloud::start_blocking(&[]);
    let (ann, bob, bob_email) = ann_and_bob(&cloud);

    std::fs::create_dir_all(ann.path("Trip/day 2")).unwrap();
    ann.write("Trip/a.txt", b"aaa");
    let img = random_bytes(90_000);
    ann.write("Trip/day 2/img.jpg", &img);
    ann.run(&["put", "-r", "Trip"]).ok();
    assert_eq!(listed(&ann, "Trip"), (vec!["day 2".to_owned()], vec!["a.txt".to_owned()]));
    // Again: everything is there already, nothing is sent.
    let again = ann.run(&["put", "-r", "Trip"]).ok();
    assert!(!again.stdout.contains("uploaded a.txt"), "{again:?}");
    assert_eq!(listed(&ann, "Trip/day 2").1, ["img.jpg"]);

    // Bob names the folder shared with him by the path he sees it under.
    bob.run(&["ls", "Trip"]).fails(4, "no file or folder called 'Trip'");
    ann.run(&["share", "Trip", &bob_email]).ok();
    let top = bob.run(&["ls", "--json"]).ok().json();
    assert_eq!(top["shared_folders"][0]["name"], "Trip", "{top}");
    assert_eq!(listed(&bob, "trip/DAY 2/"), (vec![], vec!["img.jpg".to_owned()]));
    bob.run(&["get", "Trip/day 2/img.jpg", "-o", "img.jpg"]).ok();
    assert!(bob.read("img.jpg") == img, "the shared file came back different");
    bob.run(&["get", "-r", "Trip", "-o", "got"]).ok();
    assert_eq!(bob.read("got/Trip/a.txt"), b"aaa");
    assert!(bob.read("got/Trip/day 2/img.jpg") == img);
    bob.run(&["rm", "Trip/a.txt"]).fails(4, "");

    // Moved out of the shared folder, a file is his no longer; unshared, nothing is.
    ann.run(&["mv", "Trip/a.txt", "a.txt"]).ok();
    bob.run(&["get", "Trip/a.txt", "-o", "a.txt"]).fails(4, "in 'Trip', a folder shared with you");
    ann.run(&["unshare", "Trip", &bob_email]).ok();
    bob.run(&["ls", "Trip"]).fails(4, "no file or folder called 'Trip'");
    ann.run(&["rm", "-r", "Trip"]).ok();
    let top = ann.run(&["ls", "--json"]).ok().json();
    assert_eq!((top["files"][0]["name"].as_str(), &top["folders"]), (Some("a.txt"), &json!([])), "{top}");
}

#[test]
fn an_unverified_address_gets_the_verification_mail_and_signs_in_once_verified() {
    // Production's rule: the API accepts only addresses Firebase has verified.
    let cloud = Cloud::start_blocking(&[("LIVEDROP_REQUIRE_VERIFIED_EMAIL", "1")]);
    let email = Cloud::email("cy");
    let cy = Person::new();
    let refused = signup(&cloud, &cy, &email, PASSWORD).fails(3, "confirm your e-mail address first");
    assert!(refused.stderr.contains(&email) && refused.stderr.contains("open the link"), "{}", refused.stderr);
    // Nothing was stored for an account the server does not take yet.
    cy.run(&["whoami"]).fails(3, "not signed in");
    let login = ["login", "--server", &cloud.base, "--email", &email, "--password-stdin"];
    cy.input(&login, &format!("{PASSWORD}\n")).fails(3, "confirm your e-mail address first");

    cloud.verify(&email);
    cy.input(&login, &format!("{PASSWORD}\n")).ok();
    assert_eq!(cy.run(&["whoami", "--json"]).ok().json()["user"]["email"], email.as_str());
}

// Needs the server's `GET /api/cron/sweep`: fails until that route exists.
#[test]
fn sweep_runs_against_the_cloud_with_its_cron_secret() {
    const SECRET: &str = "cron-secret-of-the-cloud-cli-test-0123456789";
    let cloud = Cloud::start_blocking(&[("CRON_SECRET", SECRET)]);
    let anyone = Person::new();
    let mut c = anyone.command(&["sweep", "--server", &cloud.base, "--json"]);
    let out = common::cli::Out::from(c.env("CRON_SECRET", SECRET).stdin(std::process::Stdio::null()).output().unwrap());
    let answer = out.ok().json();
    for k in ["pending_files", "orphan_objects", "sessions"] {
        assert!(answer[k].is_u64(), "{k}: {answer}");
    }
    let wrong = anyone.input(&["sweep", "--server", &cloud.base, "--secret-stdin"], "not-the-secret\n");
    wrong.fails(3, "refused the secret");
}

//! The `livedrop` client as a person or a script uses it: the real binary
//! run as a process against a real server started in this process on port
//! 0 with a temporary data dir.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::cli::{BIN, Out, PASSWORD, Person, Server, random_bytes, wait_exit, wait_for};
use serde_json::json;
use tempfile::TempDir;

#[test]
fn signing_up_stores_a_private_revocable_token_and_logging_out_revokes_it() {
    let server = Server::start();
    let ann = Person::signed_up(&server.base, "ann@example.com");

    let creds = ann.config.path().join("credentials.json");
    let stored = std::fs::read_to_string(&creds).unwrap();
    assert!(stored.contains("ldt_"), "an API token is stored: {stored}");
    assert!(!stored.contains(PASSWORD), "the password is never stored");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&creds).unwrap().permissions().mode() & 0o777, 0o600);
    }

    let me = ann.run(&["whoami"]).ok();
    assert!(me.stdout.starts_with(&format!("ann@example.com on {}", server.base)), "{}", me.stdout);
    assert_eq!(ann.run(&["whoami", "--json"]).ok().json()["user"]["email"], "ann@example.com");

    // Wrong password: exit 3; no terminal and no --password-stdin: exit 2.
    let args = ["login", "--server", &server.base, "--email", "ann@example.com", "--password-stdin"];
    ann.input(&args, "not the password\n").fails(3, "wrong e-mail or password");
    ann.run(&["login", "--server", &server.base, "--email", "ann@example.com"]).fails(2, "--password-stdin");
    Person::new().run(&["login", "--email", "x@example.com"]).fails(2, "which server?");
    ann.input(&["signup", "--server", &server.base, "--email", "ann@example.com", "--password-stdin"], PASSWORD)
        .fails(7, "already exists");

    // A copy of the login made before logging out stops working: the
    // token is revoked on the server, not just forgotten here.
    let copy = Person::new();
    std::fs::copy(&creds, copy.config.path().join("credentials.json")).unwrap();
    copy.run(&["whoami"]).ok();
    ann.run(&["logout"]).ok();
    ann.run(&["whoami"]).fails(3, "not signed in");
    copy.run(&["ls"]).fails(3, "no longer valid");

    // Logging in again works, and replaces (revokes) the previous token.
    ann.input(&args, PASSWORD).ok();
    let first = Person::new();
    std::fs::copy(&creds, first.config.path().join("credentials.json")).unwrap();
    ann.input(&args, PASSWORD).ok();
    first.run(&["ls"]).fails(3, "livedrop login");
    ann.run(&["ls"]).ok();
}

#[test]
fn an_api_token_signs_in_too() {
    let server = Server::start();
    let ann = Person::signed_up(&server.base, "ann@example.com");
    let creds: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ann.config.path().join("credentials.json")).unwrap()).unwrap();
    let token = creds["servers"][&server.base]["token"].as_str().unwrap().to_owned();

    // As a token made in the web app would be pasted.
    let laptop = Person::new();
    let args = ["login", "--server", &server.base, "--with-token"];
    let out = laptop.input(&args, &format!("{token}\n")).ok();
    assert!(out.stdout.contains("signed in with the token as ann@example.com"), "{}", out.stdout);
    assert!(laptop.run(&["whoami"]).ok().stdout.starts_with("ann@example.com on"));
    // The same token again is kept, not revoked as the login it replaces.
    laptop.input(&args, &format!("{token}\n")).ok();
    laptop.run(&["ls"]).ok();

    Person::new().input(&args, "ldt_not-a-real-token\n").fails(3, "does not accept that token");
    Person::new().input(&args, "\n").fails(2, "empty line");
    Person::new()
        .run(&["login", "--server", &server.base, "--with-token", "--email", "a@b.c"])
        .fails(2, "cannot be used");
    Person::new().run(&["login", "--server", &server.base]).fails(2, "--email");

    // Signing out revokes it: for every computer that had it.
    laptop.run(&["logout"]).ok();
    ann.run(&["ls"]).fails(3, "no longer valid");
}

#[test]
fn files_go_up_come_down_get_renamed_and_deleted() {
    let server = Server::start();
    let ann = Person::signed_up(&server.base, "ann@example.com");
    ann.run(&["ls"]).ok();

    let notes = b"first line\nsecond line\n".to_vec();
    ann.write("my notes.txt", &notes);
    let bin = random_bytes(200_000);
    ann.write("data.bin", &bin);
    let up = ann.run(&["put", "my notes.txt", "data.bin"]).ok();
    assert!(up.stdout.contains("uploaded my notes.txt (23 B)"), "{}", up.stdout);
    assert!(up.stdout.contains("uploaded data.bin (195.3 KiB)"), "{}", up.stdout);
    let put_json = ann.run(&["put", "--json", "--name", "copy.bin", "data.bin"]).ok().json();
    assert_eq!(put_json["files"][0]["name"], "copy.bin");
    assert_eq!(put_json["files"][0]["status"], "ready");

    let ls = ann.run(&["ls"]).ok();
    for name in ["my notes.txt", "data.bin", "copy.bin", "NAME", "SIZE"] {
        assert!(ls.stdout.contains(name), "{}", ls.stdout);
    }
    let listed = ann.run(&["ls", "--json", "--sort", "size"]).ok().json();
    let names: Vec<&str> = listed["files"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 3);
    assert_eq!(names[2], "my notes.txt", "largest first: {names:?}");

    // By name, into a path; never over an existing file without --force.
    let got = ann.run(&["get", "my notes.txt", "-o", "back.txt"]).ok();
    assert!(got.stdout.contains("saved my notes.txt"), "{}", got.stdout);
    assert_eq!(ann.read("back.txt"), notes);
    ann.run(&["get", "my notes.txt", "-o", "back.txt"]).fails(6, "already exists");
    ann.write("back.txt", b"other");
    ann.run(&["get", "my notes.txt", "-o", "back.txt", "--force"]).ok();
    assert_eq!(ann.read("back.txt"), notes);
    // By id, to standard output; into a directory under its own name.
    let id = ann.file_id("data.bin");
    assert_eq!(ann.run(&["get", &id, "-o", "-"]).ok().raw_stdout, bin);
    std::fs::create_dir(ann.path("dir")).unwrap();
    ann.run(&["get", "data.bin", "-o", "dir"]).ok();
    assert_eq!(ann.read("dir/data.bin"), bin);
    assert!(!ann.path("dir/data.bin.livedrop-part").exists());

    ann.run(&["mv", "my notes.txt", "renamed.txt"]).ok();
    ann.run(&["get", "my notes.txt"]).fails(4, "no file called 'my notes.txt'");
    ann.run(&["get", "renamed.txt", "-o", "r.txt"]).ok();

    // A name is one file's in a folder: renaming onto it is refused (exit 9).
    ann.run(&["mv", "copy.bin", "data.bin"]).fails(9, "“data.bin” is taken");
    ann.run(&["mv", "copy.bin", "DATA.bin"]).fails(9, "is taken");
    ann.run(&["rm", &id]).ok();
    ann.run(&["rm", "copy.bin", "renamed.txt"]).ok();
    assert_eq!(ann.run(&["ls", "--json"]).ok().json()["files"].as_array().unwrap().len(), 0);
    assert!(ann.run(&["ls"]).ok().stdout.contains("no files yet"));
}

#[test]
fn put_skips_a_file_that_is_already_there_and_new_uploads_another_copy() {
    let server = Server::start();
    let ann = Person::signed_up(&server.base, "ann@example.com");
    ann.write("report.txt", b"version 1 of the report");
    let first = ann.run(&["put", "report.txt"]).ok();
    assert!(first.stdout.contains("uploaded report.txt (23 B)"), "{}", first.stdout);
    let id = ann.file_id("report.txt");

    // Again: nothing is sent, and it says so on stderr; exit 0.
    let again = ann.run(&["put", "report.txt"]).ok();
    assert!(again.stderr.contains("report.txt is already there (same size and checksum): skipped"), "{}", again.stderr);
    assert!(again.stderr.contains(&id) && again.stderr.contains("--new"), "{}", again.stderr);
    assert!(!again.stdout.contains("uploaded"), "{}", again.stdout);
    assert_eq!(ann.ids_of("report.txt"), std::slice::from_ref(&id));
    // For scripts: the file that is there, marked as skipped.
    let json = ann.run(&["put", "--json", "report.txt"]).ok().json();
    assert_eq!((&json["files"][0]["id"], &json["files"][0]["skipped"]), (&json!(id), &json!(true)), "{json}");
    // Under another local name, with --name: the name it uploads as counts.
    ann.write("draft.txt", b"version 1 of the report");
    let renamed = ann.run(&["put", "draft.txt", "--name", "report.txt"]).ok();
    assert!(renamed.stderr.contains("draft.txt is already there as report.txt"), "{}", renamed.stderr);
    assert_eq!(ann.ids_of("report.txt").len(), 1);

    // --new: a second copy, on purpose; a name is one file's in a folder,
    // so the copy is "report (2).txt".
    let copy = ann.run(&["put", "--new", "--json", "report.txt"]).ok().json();
    assert_eq!(copy["files"][0]["skipped"], false, "{copy}");
    assert_eq!(copy["files"][0]["name"], "report (2).txt", "{copy}");
    assert_eq!(ann.ids_of("report.txt"), std::slice::from_ref(&id));
    // Then a plain put is still skipped: report.txt has these bytes.
    let plain = ann.run(&["put", "report.txt"]).ok();
    assert!(plain.stderr.contains("skipped"), "{}", plain.stderr);
    assert_eq!(ann.ids_of("report (2).txt").len(), 1);
    ann.run(&["rm", copy["files"][0]["id"].as_str().unwrap()]).ok();

    // The same name and size, other bytes: uploaded beside it as
    // "report (2).txt", with a note that says so and gives both ids.
    ann.write("report.txt", b"version 2 of the report");
    let changed = ann.run(&["put", "report.txt"]).ok();
    assert!(changed.stdout.contains("uploaded report (2).txt (23 B)"), "{}", changed.stdout);
    assert_eq!(ann.ids_of("report.txt"), std::slice::from_ref(&id));
    let new_id = ann.ids_of("report (2).txt").pop().unwrap();
    let note =
        format!("the top already has a report.txt (id {id}), so the new file is called report (2).txt (id {new_id})");
    assert!(changed.stderr.contains(&note), "{}", changed.stderr);
    assert!(changed.stderr.contains("--replace"), "{}", changed.stderr);
    ann.run(&["get", &new_id, "-o", "back.txt"]).ok();
    assert_eq!(ann.read("back.txt"), b"version 2 of the report");
    // --replace: the new bytes take the old file's place, and it says which.
    ann.write("report.txt", b"version 3 of the report");
    let replaced = ann.run(&["put", "--replace", "report.txt"]).ok();
    assert!(replaced.stdout.contains("uploaded report.txt (23 B)"), "{}", replaced.stdout);
    assert!(replaced.stderr.contains(&format!("replaced the earlier report.txt (id {id})")), "{}", replaced.stderr);
    let ids = ann.ids_of("report.txt");
    assert!(ids.len() == 1 && ids[0] != id, "{ids:?}");
    ann.run(&["get", "report.txt", "-o", "v3.txt"]).ok();
    assert_eq!(ann.read("v3.txt"), b"version 3 of the report");
    // --quiet keeps the note to itself, not the result.
    ann.write("report.txt", b"version 4 of the report");
    let quiet = ann.run(&["put", "--quiet", "report.txt"]).ok();
    assert!(quiet.stderr.is_empty() && quiet.stdout.contains("uploaded"), "{quiet:?}");

    // Within one run too: the second of two identical files is skipped.
    std::fs::create_dir(ann.path("a")).unwrap();
    std::fs::create_dir(ann.path("b")).unwrap();
    ann.write("a/same.txt", b"twice");
    ann.write("b/same.txt", b"twice");
    let both = ann.run(&["put", "a/same.txt", "b/same.txt"]).ok();
    assert_eq!(both.stdout.matches("uploaded same.txt").count(), 1, "{}", both.stdout);
    assert!(both.stderr.contains("same.txt is already there"), "{}", both.stderr);

    // Only one's own files count, not one shared with them.
    let bob = Person::signed_up(&server.base, "bob@example.com");
    ann.run(&["share", "same.txt", "bob@example.com"]).ok();
    bob.write("same.txt", b"twice");
    let bobs = bob.run(&["put", "same.txt"]).ok();
    assert!(bobs.stdout.contains("uploaded same.txt"), "{}", bobs.stdout);

    // The shell's UPLOAD does the same.
    let shell = ann.input(&["shell"], "UPLOAD a/same.txt\nUPLOAD --new a/same.txt\nUPLOAD --new\n");
    assert!(shell.stdout.contains("same.txt is already there (same size and checksum): skipped"), "{}", shell.stdout);
    assert_eq!(shell.stdout.matches("uploaded same (2).txt").count(), 1, "{}", shell.stdout);
    assert!(shell.stderr.contains("usage: UPLOAD [--new] <file>"), "{}", shell.stderr);
    assert_eq!((ann.ids_of("same.txt").len(), ann.ids_of("same (2).txt").len()), (1, 1));
}

#[test]
fn sharing_with_people_and_public_links() {
    let server = Server::start();
    let ann = Person::signed_up(&server.base, "ann@example.com");
    let bob = Person::signed_up(&server.base, "bob@example.com");
    let report = b"quarterly numbers".to_vec();
    ann.write("report.txt", &report);
    ann.run(&["put", "report.txt"]).ok();
    let id = ann.file_id("report.txt");

    // Bob cannot see it until it is shared, and never delete it.
    bob.run(&["get", &id]).fails(4, "no file with that id");
    // Bob has not proved his address (this server sends no mail): the share
    // waits, and Ann is given the invitation link to send him.
    let shared = ann.run(&["share", "report.txt", "bob@example.com", "carol@example.com"]).ok();
    assert!(
        shared.stdout.contains("shared report.txt with bob@example.com (no confirmed account"),
        "{}",
        shared.stdout
    );
    assert!(
        shared.stdout.contains("shared report.txt with carol@example.com (no confirmed account"),
        "{}",
        shared.stdout
    );
    let link = shared.stdout.lines().map(str::trim).find(|l| l.starts_with("http")).unwrap().to_owned();
    assert!(link.starts_with(&format!("{}/verify/?token=", server.base)), "{link}");
    assert!(bob.run(&["ls", "--shared", "--json"]).ok().json()["shared"].as_array().unwrap().is_empty());
    bob.run(&["verify", "https://elsewhere.example/verify/?token=not-a-token"]).fails(2, "43 characters");
    let unknown = format!("https://elsewhere.example/verify/?token={}", "A".repeat(43));
    bob.run(&["verify", &unknown]).fails(7, "not valid");
    let verified = bob.run(&["verify", &link]).ok();
    assert!(verified.stdout.contains("bob@example.com is confirmed"), "{}", verified.stdout);
    let mine = bob.run(&["ls", "--shared", "--json"]).ok().json();
    assert_eq!(mine["shared"][0]["owner_email"], "ann@example.com");
    let listed = bob.run(&["ls"]).ok().stdout;
    assert!(listed.contains("Shared with you:") && listed.contains("ann@example.com"), "{listed}");
    bob.run(&["get", "report.txt"]).ok();
    assert_eq!(bob.read("report.txt"), report);
    bob.run(&["rm", &id]).fails(4, "file not found");
    bob.run(&["mv", &id, "mine.txt"]).fails(4, "file not found");
    bob.run(&["share", &id, "eve@example.com"]).fails(4, "file not found");
    ann.run(&["unshare", "report.txt", "bob@example.com"]).ok();
    bob.run(&["get", &id, "-o", "again.txt"]).fails(4, "no file with that id");
    ann.run(&["unshare", "report.txt", "bob@example.com"]).fails(4, "not found");

    // A password link for one download, opened by someone not signed in.
    let made = ann
        .input(&["link", "report.txt", "--password-stdin", "--max-downloads", "1", "--expires", "7d"], "s3cret-pass\n")
        .ok();
    let url = made.stdout.trim().to_owned();
    assert!(url.starts_with(&format!("{}/s/", server.base)), "{url}");
    assert!(made.stderr.contains("needs its password, 1 download"), "{}", made.stderr);
    let anon = Person::new();
    let info = anon.run(&["open", &url, "--info"]).ok();
    assert!(info.stdout.contains("report.txt (17 B)") && info.stdout.contains("needs a password"), "{}", info.stdout);
    anon.run(&["open", &url]).fails(2, "--password-stdin");
    anon.input(&["open", &url, "--password-stdin"], "wrong-pass\n").fails(7, "wrong password");
    anon.input(&["open", &url, "--password-stdin"], "s3cret-pass\n").ok();
    assert_eq!(anon.read("report.txt"), report);
    anon.input(&["open", &url, "--password-stdin", "-o", "second.txt"], "s3cret-pass\n").fails(7, "download limit");

    // An open link, listed, revoked.
    let open_link = ann.run(&["link", "report.txt", "--json"]).ok().json();
    let link_id = open_link["link"]["id"].as_str().unwrap().to_owned();
    let url2 = open_link["url"].as_str().unwrap().to_owned();
    let token = url2.rsplit('/').next().unwrap();
    anon.run(&["open", token, "--server", &server.base, "-o", "via-token.txt"]).ok();
    let links = ann.run(&["links"]).ok();
    assert!(links.stdout.contains(&link_id) && links.stdout.contains("1/1"), "{}", links.stdout);
    assert_eq!(ann.run(&["links", "report.txt", "--json"]).ok().json()["links"].as_array().unwrap().len(), 2);
    ann.run(&["revoke", &link_id]).ok();
    anon.run(&["open", &url2, "-o", "third.txt"]).fails(4, "not available");
    anon.run(&["open", "not a link/at all"]).fails(2, "not a livedrop link");
    ann.run(&["revoke", "nosuchlinkid"]).fails(4, "not found");
    ann.run(&["link", "report.txt", "--expires", "7y"]).fails(2, "not a duration");
}

#[test]
fn an_upload_killed_midway_continues_on_the_next_run() {
    killed_upload_resumes(Some("1MiB"));
}

#[test]
fn an_upload_in_one_request_killed_midway_also_continues() {
    // The default: the rest of the file in one request, whose progress the
    // server records as it arrives.
    killed_upload_resumes(None);
}

fn killed_upload_resumes(chunk_size: Option<&str>) {
    let server = Server::start();
    let ann = Person::signed_up(&server.base, "ann@example.com");
    let data = random_bytes(40 << 20);
    ann.write("big.bin", &data);

    let with_chunks = |mut c: Command| {
        if let Some(size) = chunk_size {
            c.env("LIVEDROP_CHUNK_SIZE", size);
        }
        c
    };
    let mut child = with_chunks(ann.command(&["put", "big.bin", "--limit-rate", "10MiB"]))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let transfers = ann.config.path().join("transfers");
    wait_for("the upload session to be saved", Duration::from_secs(20), || {
        std::fs::read_dir(&transfers)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| std::fs::read_to_string(e.path()).is_ok_and(|s| s.contains("/blob/sessions/")))
    });
    std::thread::sleep(Duration::from_millis(1000));
    assert!(child.try_wait().unwrap().is_none(), "the upload should still be running");
    child.kill().unwrap();
    child.wait().unwrap();

    let again = with_chunks(ann.command(&["put", "big.bin"])).output().unwrap();
    let again = Out::from(again).ok();
    assert!(again.stderr.contains("resuming the upload of big.bin at"), "{}", again.stderr);
    assert!(!again.stderr.contains("at 0 B of"), "some bytes were kept: {}", again.stderr);
    assert!(again.stdout.contains("uploaded big.bin (40.0 MiB)"), "{}", again.stdout);
    let listed = ann.run(&["ls", "--json"]).ok().json();
    assert_eq!(listed["files"].as_array().unwrap().len(), 1, "one file, not a second pending one");
    ann.run(&["get", "big.bin", "-o", "back.bin"]).ok();
    assert!(ann.read("back.bin") == data, "the bytes that come back are the bytes that went up");
    assert_eq!(std::fs::read_dir(&transfers).unwrap().count(), 0, "no transfer state is left behind");
}

#[test]
fn a_download_killed_midway_continues_on_the_next_run() {
    let server = Server::start();
    let ann = Person::signed_up(&server.base, "ann@example.com");
    let data = random_bytes(40 << 20);
    ann.write("big.bin", &data);
    ann.run(&["put", "big.bin"]).ok();

    let mut child = ann
        .command(&["get", "big.bin", "-o", "back.bin", "--limit-rate", "10MiB"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let part = ann.path("back.bin.livedrop-part");
    wait_for("part of the download", Duration::from_secs(20), || {
        std::fs::metadata(&part).is_ok_and(|m| m.len() >= 4 << 20)
    });
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!ann.path("back.bin").exists(), "nothing appears under the real name until it is complete");

    let again = ann.run(&["get", "big.bin", "-o", "back.bin"]).ok();
    assert!(again.stderr.contains("resuming the download of big.bin at"), "{}", again.stderr);
    assert!(ann.read("back.bin") == data, "the resumed download is byte-identical");
    assert!(!part.exists());

    // A corrupted part is caught by the checksum and removed.
    let mut child = ann
        .command(&["get", "big.bin", "-o", "third.bin", "--limit-rate", "10MiB"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let part = ann.path("third.bin.livedrop-part");
    wait_for("part of the download", Duration::from_secs(20), || {
        std::fs::metadata(&part).is_ok_and(|m| m.len() >= 2 << 20)
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let mut f = std::fs::OpenOptions::new().write(true).open(&part).unwrap();
    f.write_all(b"garbage").unwrap();
    drop(f);
    ann.run(&["get", "big.bin", "-o", "third.bin"]).fails(8, "corrupt");
    assert!(!part.exists() && !ann.path("third.bin").exists());
    ann.run(&["get", "big.bin", "-o", "third.bin"]).ok();
    assert!(ann.read("third.bin") == data);
}

#[test]
fn the_shell_speaks_the_prototype_protocol_from_a_pipe() {
    let server = Server::start();
    let ann = Person::signed_up(&server.base, "ann@example.com");
    ann.write("my notes.txt", b"notes");
    let script = "\
# a comment, then a blank line

help
LIST
upload \"my notes.txt\"
Upload missing.txt
list
DOWNLOAD \"my notes.txt\" copy.txt
download nosuch
FROB x
UPLOAD
upload \"unbalanced
Exit
LIST
";
    let out = ann.input(&["shell"], script);
    let first = out.stdout.lines().next().unwrap_or("");
    assert!(first.starts_with("livedrop shell: signed in as ann@example.com"), "welcome line: {first}");
    for want in [
        "LIST",
        "UPLOAD [--new] <file>",
        "DOWNLOAD <file>",
        "EXIT",
        "no files yet",
        "uploaded my notes.txt (5 B)",
        "saved my notes.txt (5 B) to copy.txt",
    ] {
        assert!(out.stdout.contains(want), "stdout lacks {want:?}:\n{}", out.stdout);
    }
    assert_eq!(out.stdout.matches("NAME ").count(), 1, "nothing runs after EXIT:\n{}", out.stdout);
    assert!(out.stdout.trim_end().ends_with("bye"), "{}", out.stdout);
    for want in [
        "error: missing.txt: no such file",
        "error: no file called 'nosuch'",
        "error: unknown command 'FROB'",
        "type HELP",
        "error: usage: UPLOAD [--new] <file>",
        "error: unbalanced quotes",
    ] {
        assert!(out.stderr.contains(want), "stderr lacks {want:?}:\n{}", out.stderr);
    }
    assert_eq!(out.code, 2, "the exit status is the last failure's (a usage error)");
    assert_eq!(ann.read("copy.txt"), b"notes");

    // The end of input closes the session too; all went well: status 0.
    let out = ann.input(&["shell"], "list\n").ok();
    assert!(out.stdout.contains("my notes.txt") && out.stdout.trim_end().ends_with("bye"), "{}", out.stdout);
    // Not signed in: a clear error before any welcome.
    Person::new().input(&["shell"], "LIST\n").fails(3, "not signed in");
}

#[test]
fn bad_input_gets_a_clear_message_and_a_documented_exit_code() {
    let server = Server::start();
    let ann = Person::signed_up(&server.base, "ann@example.com");

    ann.run(&["put", "missing.txt"]).fails(6, "missing.txt: no such file");
    std::fs::create_dir(ann.path("folder")).unwrap();
    ann.run(&["put", "folder"]).fails(6, "is a directory");
    let secret = ann.write("secret.txt", b"secret");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o000)).unwrap();
        // Root reads anything; elsewhere the file is unreadable.
        if std::fs::File::open(&secret).is_err() {
            ann.run(&["put", "secret.txt"]).fails(6, "permission denied");
        }
    }
    // Several files: the good ones go up, the bad one is reported.
    ann.write("good.txt", b"good");
    let out = ann.run(&["put", "good.txt", "missing.txt"]).fails(6, "missing.txt: no such file");
    assert!(out.stdout.contains("uploaded good.txt"));

    ann.run(&["get", "nothing-like-this"]).fails(4, "no file called");
    ann.run(&["get", "AAAAAAAAAAAAAAAAAAAAAA"]).fails(4, "no file with that id");
    ann.run(&["ls", "--sort", "colour"]).fails(2, "invalid value");
    ann.run(&["put", "good.txt", "--limit-rate", "fast"]).fails(2, "not a size");
    ann.command(&["put", "good.txt"])
        .env("LIVEDROP_CHUNK_SIZE", "lots")
        .output()
        .map(Out::from)
        .unwrap()
        .fails(2, "LIVEDROP_CHUNK_SIZE");
    ann.run(&["mv", "good.txt", "../evil"]).fails(2, "'..' is not a name");
    ann.run(&["mv", "good.txt", "evil\\name"]).fails(2, "slash");

    // The server is gone: every command says so with exit code 5.
    drop(server);
    ann.run(&["ls"]).fails(5, "cannot reach the livedrop server");
    ann.run(&["put", "good.txt"]).fails(5, "cannot reach");
    ann.run(&["open", "http://127.0.0.1:1/s/sometoken"]).fails(5, "cannot reach");
    ann.input(&["login", "--server", "http://127.0.0.1:1", "--email", "a@b.c", "--password-stdin"], "x\n")
        .fails(5, "cannot reach");
}

#[test]
fn watch_shows_changes_as_they_happen() {
    let server = Server::start();
    let ann = Person::signed_up(&server.base, "ann@example.com");
    ann.write("a.txt", b"a");

    // JSON lines: the snapshot, then the upload's three changes (the file
    // while it uploads, the file ready, its activity).
    let mut child = ann.command(&["watch", "--json", "--count", "3"]).stdout(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let snapshot: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(snapshot["type"], "snapshot");
    ann.run(&["put", "a.txt"]).ok();
    assert_eq!(wait_exit(&mut child, Duration::from_secs(10)), 0);
    let changes: Vec<serde_json::Value> = lines.map(|l| serde_json::from_str(&l.unwrap()).unwrap()).collect();
    assert_eq!(changes.len(), 3);
    let added = |status: &str| {
        changes.iter().any(|c| {
            c["collection"] == "files"
                && c["kind"] == "added"
                && c["doc"]["name"] == "a.txt"
                && c["doc"]["status"] == status
        })
    };
    assert!(added("pending") && added("ready"), "{changes:?}");
    assert!(changes.iter().any(|c| c["collection"] == "activity" && c["doc"]["kind"] == "uploaded"));

    // For people: one line per change.
    let mut child = ann.command(&["watch", "--count", "2"]).stdout(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(lines.next().unwrap().unwrap().starts_with("watching"));
    ann.run(&["mv", "a.txt", "b.txt"]).ok();
    assert_eq!(wait_exit(&mut child, Duration::from_secs(10)), 0);
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    assert!(rest.iter().any(|l| l.contains("file changed") && l.contains("b.txt")), "{rest:?}");
    assert!(rest.iter().any(|l| l.contains("ann@example.com renamed a.txt to b.txt")), "{rest:?}");

    // An upload shows while it goes, then as a new file.
    ann.write("c.txt", b"c");
    let mut child = ann.command(&["watch", "--count", "3"]).stdout(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(lines.next().unwrap().unwrap().starts_with("watching"));
    ann.run(&["put", "c.txt"]).ok();
    assert_eq!(wait_exit(&mut child, Duration::from_secs(10)), 0);
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    assert!(rest.iter().any(|l| l.contains("uploading     c.txt 0% of 1 B")), "{rest:?}");
    assert!(rest.iter().any(|l| l.contains("new file      c.txt")), "{rest:?}");

    // A watch running when its login ends stops at once, and says why.
    let copy = Person::new();
    std::fs::copy(ann.config.path().join("credentials.json"), copy.config.path().join("credentials.json")).unwrap();
    let mut running = copy.command(&["watch"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(running.stdout.take().unwrap()).lines();
    assert!(lines.next().unwrap().unwrap().starts_with("watching"));
    ann.run(&["logout"]).ok();
    assert_eq!(wait_exit(&mut running, Duration::from_secs(10)), 3);
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut running.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("no longer valid") && !stderr.contains("reconnecting"), "{stderr}");
    copy.run(&["watch"]).fails(3, "no longer valid");
}

/// `livedrop serve` as a process, with `CRON_SECRET` set in its environment
/// or not: stopped when dropped.
struct ServeProcess {
    base: String,
    child: std::process::Child,
    _data: TempDir,
}

impl ServeProcess {
    fn start(cron_secret: Option<&str>) -> Self {
        let data = tempfile::tempdir().unwrap();
        let mut serve = Command::new(BIN);
        serve.arg("serve").arg("--data-dir").arg(data.path()).args(["--web-dir", "/nonexistent-not-built"]);
        match cron_secret {
            Some(s) => serve.env("CRON_SECRET", s),
            None => serve.env_remove("CRON_SECRET"),
        };
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (child, base) = rt.block_on(common::cloud::spawn_serve(serve));
        Self { base, child, _data: data }
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// Needs the server's `GET /api/cron/sweep`: fails until that route exists.
#[test]
fn sweep_runs_the_servers_sweep_with_its_cron_secret() {
    const SECRET: &str = "cron-secret-of-the-cli-test-0123456789";
    let server = ServeProcess::start(Some(SECRET));
    // No login needed: the secret is the permission.
    let anyone = Person::new();
    let base = server.base.clone();
    let sweep = |secret: Option<&str>, args: &[&str]| {
        let mut c = anyone.command(&[&["sweep", "--server", base.as_str()], args].concat());
        if let Some(s) = secret {
            c.env("CRON_SECRET", s);
        }
        Out::from(c.stdin(Stdio::null()).output().unwrap())
    };

    let done = sweep(Some(SECRET), &[]).ok();
    let line = done.stdout.trim();
    assert!(line.starts_with("removed ") && line.contains(" pending upload"), "{line}");
    assert!(line.contains(" orphan object") && line.contains(" upload session"), "{line}");
    let json = sweep(Some(SECRET), &["--json"]).ok().json();
    for k in ["pending_files", "orphan_objects", "sessions"] {
        assert!(json[k].is_u64(), "{k}: {json}");
    }
    let piped = anyone.input(&["sweep", "--server", &server.base, "--secret-stdin"], &format!("{SECRET}\n")).ok();
    assert!(piped.stdout.starts_with("removed "), "{}", piped.stdout);

    // A wrong secret: exit 3, as any refused credential; none at all: usage.
    sweep(Some("not-the-secret"), &[]).fails(3, "refused the secret");
    sweep(None, &[]).fails(2, "CRON_SECRET is not set");
    anyone.run(&["sweep"]).fails(2, "which server");

    // A server without CRON_SECRET does not sweep on request, and it says why.
    let without = ServeProcess::start(None);
    let mut c = anyone.command(&["sweep", "--server", &without.base]);
    let out = Out::from(c.env("CRON_SECRET", SECRET).stdin(Stdio::null()).output().unwrap());
    out.fails(4, "has no CRON_SECRET set");

    drop(server);
    sweep(Some(SECRET), &[]).fails(5, "cannot reach");
}

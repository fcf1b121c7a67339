//! The `livedrop` client with folders, as a person or a script uses it: the
//! real binary run as a process against a real server started in this
//! process on port 0 with a temporary data dir (as in `tests/cli.rs`).
//! Paths, `mkdir`, `ls FOLDER`, `put --to` and `put -r`, `get -r`, `mv` and
//! `rm -r`; a folder shared, named by a recipient by its path; a folder's
//! public link opened.

mod common;

use std::path::Path;

use common::cli::{Person, Server, random_bytes};
use serde_json::Value;

/// `ls PATH --json` of a folder: its folders' and files' names.
fn listed(p: &Person, folder: &str) -> (Vec<String>, Vec<String>) {
    let v = p.run(&["ls", folder, "--json"]).ok().json();
    let names = |k: &str| -> Vec<String> {
        v[k].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap().to_owned()).collect()
    };
    (names("folders"), names("files"))
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// The id of the folder at `path`.
fn folder_id(p: &Person, path: &str) -> String {
    p.run(&["ls", path, "--json"]).ok().json()["folder"]["id"].as_str().unwrap().to_owned()
}

#[test]
fn mkdir_makes_parents_and_paths_name_files_and_folders() {
    let server = Server::start();
    let ann = Person::signed_up(&server.base, "ann@example.com");

    let made = ann.run(&["mkdir", "Trip/day 1"]).ok();
    assert!(made.stdout.contains("created folder Trip\n"), "{}", made.stdout);
    assert!(made.stdout.contains("created folder Trip/day 1"), "{}", made.stdout);
    // Again, in other letters: it is there (names are one whatever their case).
    let again = ann.run(&["mkdir", "trip/DAY 1"]).ok();
    assert!(again.stdout.contains("Trip/day 1 already exists"), "{}", again.stdout);
    let deeper = ann.run(&["mkdir", "Trip/day 1/morning", "Trip/day 2"]).ok();
    assert!(!deeper.stdout.contains("created folder Trip\n"), "{}", deeper.stdout);
    assert!(deeper.stdout.contains("created folder Trip/day 1/morning"), "{}", deeper.stdout);
    assert!(deeper.stdout.contains("created folder Trip/day 2"), "{}", deeper.stdout);

    // put --to: into a folder that is there, and one it makes.
    let img = random_bytes(70_000);
    ann.write("img1.jpg", &img);
    ann.write("notes.txt", b"notes at the top");
    let up = ann.run(&["put", "img1.jpg", "--to", "Trip/day 1"]).ok();
    assert!(up.stdout.contains("uploaded Trip/day 1/img1.jpg (68.4 KiB) id "), "{}", up.stdout);
    let snow = ann.run(&["put", "notes.txt", "--to", "Trip/Zürich ☃/nächte", "--json"]).ok();
    assert!(snow.stderr.contains("created folder Trip/Zürich ☃/nächte"), "{}", snow.stderr);
    let json = snow.json();
    assert_eq!(json["files"][0]["folder_id"].as_str().unwrap(), folder_id(&ann, "Trip/Zürich ☃/nächte"));
    assert_eq!(json["created_folders"], serde_json::json!(["Trip/Zürich ☃", "Trip/Zürich ☃/nächte"]));
    ann.run(&["put", "notes.txt"]).ok();

    // ls: folders first, marked with a slash, then files; at the top or in a folder.
    let top = ann.run(&["ls"]).ok().stdout;
    let (trip, notes) = (top.find("Trip/").unwrap(), top.find("notes.txt").unwrap());
    assert!(top.starts_with("NAME") && trip < notes, "{top}");
    assert!(!top.contains("img1.jpg"), "only what is at the top: {top}");
    assert_eq!(listed(&ann, "Trip"), (strs(&["day 1", "day 2", "Zürich ☃"]), vec![]));
    assert_eq!(listed(&ann, "Trip/day 1"), (strs(&["morning"]), strs(&["img1.jpg"])));
    let day1 = ann.run(&["ls", "Trip/day 1"]).ok().stdout;
    assert!(day1.find("morning/").unwrap() < day1.find("img1.jpg").unwrap(), "{day1}");
    assert!(ann.run(&["ls", "Trip/day 2"]).ok().stdout.contains("Trip/day 2/ is empty"));
    // A folder by its id, as ids worked before.
    let id = folder_id(&ann, "Trip/day 1");
    assert_eq!(listed(&ann, &id).1, strs(&["img1.jpg"]));
    let json = ann.run(&["ls", "--json"]).ok().json();
    assert_eq!(json["folders"][0]["name"], "Trip");
    assert_eq!(json["files"].as_array().unwrap().len(), 1);

    // get by path, in any case; a folder is not a file.
    ann.run(&["get", "Trip/day 1/img1.jpg", "-o", "back.jpg"]).ok();
    assert!(ann.read("back.jpg") == img);
    ann.run(&["get", "trip/DAY 1/IMG1.JPG", "-o", "-"]).ok();
    ann.run(&["get", "Trip/day 1"]).fails(2, "'Trip/day 1' is a folder, not a file").fails(2, "get -r");

    // What is not there: exit 4, saying which part is missing.
    ann.run(&["get", "Trip/day 9/img1.jpg"]).fails(4, "there is no folder 'Trip/day 9'");
    ann.run(&["get", "Trip/day 1/nope.jpg"]).fails(4, "no file called 'nope.jpg' in 'Trip/day 1'");
    ann.run(&["ls", "Nowhere"]).fails(4, "no file or folder called 'Nowhere'");
    ann.run(&["ls", "Trip/day 1/img1.jpg/x"]).fails(4, "'Trip/day 1/img1.jpg' is a file, not a folder");
    ann.run(&["get", "img1.jpg"]).fails(4, "no file called 'img1.jpg'");
    // A file where a folder is wanted: a conflict (exit 9).
    ann.run(&["mkdir", "Trip/day 1/img1.jpg/sub"]).fails(9, "'Trip/day 1/img1.jpg' is a file, not a folder");
    ann.run(&["mkdir", "notes.txt"]).fails(9, "is a file");
    ann.run(&["put", "img1.jpg", "--to", "notes.txt"]).fails(9, "is a file");
    ann.run(&["ls", "Trip/../x"]).fails(2, "'..' is not a name");

    // The shell's LIST shows folders too, and takes one.
    let shell = ann.input(&["shell"], "LIST\nLIST \"Trip/day 1\"\nDOWNLOAD \"Trip/day 1/img1.jpg\" shell.jpg\n").ok();
    assert!(shell.stdout.contains("Trip/") && shell.stdout.contains("morning/"), "{}", shell.stdout);
    assert!(ann.read("shell.jpg") == img);
}

/// Every file under `root`, by its path from there, with its bytes; and
/// every directory.
fn local_tree(root: &Path) -> (Vec<(String, Vec<u8>)>, Vec<String>) {
    fn walk(dir: &Path, rel: &str, files: &mut Vec<(String, Vec<u8>)>, dirs: &mut Vec<String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap()).collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name().to_string_lossy().into_owned();
            let rel = if rel.is_empty() { name } else { format!("{rel}/{name}") };
            let t = e.file_type().unwrap();
            if t.is_symlink() {
                continue;
            } else if t.is_dir() {
                dirs.push(rel.clone());
                walk(&e.path(), &rel, files, dirs);
            } else {
                files.push((rel, std::fs::read(e.path()).unwrap()));
            }
        }
    }
    let (mut files, mut dirs) = (Vec::new(), Vec::new());
    walk(root, "", &mut files, &mut dirs);
    (files, dirs)
}

#[test]
fn put_r_uploads_a_tree_and_get_r_brings_it_back() {
    let server = Server::start();
    let ann = Person::signed_up(&server.base, "ann@example.com");
    std::fs::create_dir_all(ann.path("photos/sub dir/deeper ü")).unwrap();
    std::fs::create_dir_all(ann.path("photos/empty")).unwrap();
    ann.write("photos/a.txt", b"aaa");
    ann.write("photos/sub dir/b.bin", &random_bytes(300_000));
    ann.write("photos/sub dir/deeper ü/c ☃.txt", b"snow");
    ann.write("photos/sub dir/deeper ü/d.txt", b"");
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("a.txt", ann.path("photos/link.txt")).unwrap();
        std::os::unix::fs::symlink("sub dir", ann.path("photos/dirlink")).unwrap();
    }

    let up = ann.run(&["put", "-r", "photos", "--to", "Backups/2024"]).ok();
    for want in [
        "uploaded Backups/2024/photos/a.txt (3 B)",
        "uploaded Backups/2024/photos/sub dir/b.bin (293.0 KiB)",
        "uploaded Backups/2024/photos/sub dir/deeper ü/c ☃.txt (4 B)",
        "uploaded Backups/2024/photos/sub dir/deeper ü/d.txt (0 B)",
    ] {
        assert!(up.stdout.contains(want), "stdout lacks {want:?}:\n{}", up.stdout);
    }
    assert_eq!(up.stdout.lines().count(), 4, "{}", up.stdout);
    assert!(up.stderr.contains("created folder Backups/2024/photos/sub dir/deeper ü"), "{}", up.stderr);
    assert!(up.stderr.contains("created folder Backups/2024/photos/empty"), "{}", up.stderr);
    #[cfg(unix)]
    {
        assert!(up.stderr.contains("passed over photos/link.txt: a symlink"), "{}", up.stderr);
        assert!(up.stderr.contains("passed over photos/dirlink: a symlink"), "{}", up.stderr);
    }
    assert!(up.stderr.contains("4 files uploaded, 0 already there, 0 failed; 6 folders made"), "{}", up.stderr);

    // The server has them, each in its folder.
    assert_eq!(listed(&ann, "Backups/2024"), (strs(&["photos"]), vec![]));
    assert_eq!(listed(&ann, "Backups/2024/photos"), (strs(&["empty", "sub dir"]), strs(&["a.txt"])));
    assert_eq!(listed(&ann, "Backups/2024/photos/sub dir"), (strs(&["deeper ü"]), strs(&["b.bin"])));
    assert_eq!(listed(&ann, "Backups/2024/photos/sub dir/deeper ü"), (vec![], strs(&["c ☃.txt", "d.txt"])));
    assert_eq!(listed(&ann, "Backups/2024/photos/empty"), (vec![], vec![]));

    // Again: everything is there already; nothing is sent, nothing made.
    let again = ann.run(&["put", "-r", "photos", "--to", "Backups/2024", "--json"]).ok();
    let json = again.json();
    assert!(json["files"].as_array().unwrap().iter().all(|f| f["skipped"] == true), "{json}");
    assert_eq!(json["files"].as_array().unwrap().len(), 4);
    assert_eq!(json["created_folders"], serde_json::json!([]));
    #[cfg(unix)]
    assert_eq!(json["skipped"].as_array().unwrap().len(), 2, "{json}");
    assert!(again.stderr.contains("Backups/2024/photos/sub dir/b.bin is already there"), "{}", again.stderr);

    // A changed file: beside the old one by default, in its place with --replace.
    ann.write("photos/a.txt", b"AAAA");
    let beside = ann.run(&["put", "-r", "photos", "--to", "Backups/2024"]).ok();
    assert!(beside.stdout.contains("uploaded Backups/2024/photos/a (2).txt (4 B)"), "{}", beside.stdout);
    assert_eq!(beside.stdout.lines().count(), 1, "{}", beside.stdout);
    ann.run(&["rm", "Backups/2024/photos/a (2).txt"]).ok();
    let replaced = ann.run(&["put", "-r", "photos", "--to", "Backups/2024", "--replace"]).ok();
    assert!(replaced.stdout.contains("uploaded Backups/2024/photos/a.txt (4 B)"), "{}", replaced.stdout);
    assert_eq!(listed(&ann, "Backups/2024/photos").1, strs(&["a.txt"]));

    // get -r: the folder into DIR/<its name>, bytes and structure alike.
    let got = ann.run(&["get", "-r", "Backups/2024/photos", "-o", "out"]).ok();
    assert!(got.stdout.contains("saved Backups/2024/photos/sub dir/b.bin (293.0 KiB) to out/photos/sub dir/b.bin"));
    let (want_files, want_dirs) = local_tree(&ann.path("photos"));
    assert_eq!(local_tree(&ann.path("out/photos")), (want_files.clone(), want_dirs.clone()));
    assert!(ann.path("out/photos/empty").is_dir());
    // Again: all there; a file changed here is left alone unless --force.
    let again = ann.run(&["get", "-r", "Backups/2024/photos", "-o", "out"]).ok();
    assert!(again.stdout.is_empty() && again.stderr.contains("already there"), "{again:?}");
    ann.write("out/photos/sub dir/deeper ü/c ☃.txt", b"changed here");
    ann.run(&["get", "-r", "Backups/2024/photos", "-o", "out"]).fails(6, "already exists, with other contents");
    ann.run(&["get", "-r", "Backups/2024/photos", "-o", "out", "--force"]).ok();
    assert_eq!(local_tree(&ann.path("out/photos")), (want_files, want_dirs));
    // By id; into the current directory without -o.
    let id = folder_id(&ann, "Backups/2024/photos/sub dir");
    ann.run(&["get", "-r", &id]).ok();
    assert_eq!(ann.read("sub dir/deeper ü/c ☃.txt"), b"snow");

    ann.run(&["put", "photos"]).fails(6, "is a directory");
    ann.run(&["get", "-r", "Backups/nothing"]).fails(4, "no file or folder called 'nothing' in 'Backups'");
    ann.run(&["get", "-r", "Backups", "-o", "-"]).fails(2, "a folder needs a directory");
}

#[test]
fn mv_renames_and_moves_files_and_folders_and_rm_r_deletes_a_tree() {
    let server = Server::start();
    let ann = Person::signed_up(&server.base, "ann@example.com");
    ann.run(&["mkdir", "A", "B"]).ok();
    ann.write("x.txt", b"x");
    ann.run(&["put", "x.txt"]).ok();

    // A file into a folder, keeping its name; then renamed there.
    let into = ann.run(&["mv", "x.txt", "A"]).ok();
    assert!(into.stdout.contains("moved x.txt to A/x.txt"), "{}", into.stdout);
    assert_eq!(listed(&ann, "A").1, strs(&["x.txt"]));
    assert!(!ann.run(&["ls"]).ok().stdout.contains("x.txt"));
    let renamed = ann.run(&["mv", "A/x.txt", "A/y.txt"]).ok();
    assert!(renamed.stdout.contains("renamed A/x.txt to y.txt"), "{}", renamed.stdout);
    // Moved and renamed at once, to a name with spaces and more than ASCII.
    let both = ann.run(&["mv", "A/y.txt", "B/z ž.txt"]).ok();
    assert!(both.stdout.contains("moved A/y.txt to B/z ž.txt"), "{}", both.stdout);
    assert_eq!(listed(&ann, "B").1, strs(&["z ž.txt"]));
    // To the top, by id.
    let id = listed_id(&ann, "B", "z ž.txt");
    let top = ann.run(&["mv", &id, "/"]).ok();
    assert!(top.stdout.contains("moved B/z ž.txt to z ž.txt (at the top)"), "{}", top.stdout);
    ann.run(&["mv", "z ž.txt", "B/"]).ok();

    // A folder into a folder, with what is in it.
    ann.run(&["mkdir", "A/inner"]).ok();
    let folder = ann.run(&["mv", "A", "B"]).ok();
    assert!(folder.stdout.contains("moved A/ to B/A/"), "{}", folder.stdout);
    assert_eq!(listed(&ann, "B"), (strs(&["A"]), strs(&["z ž.txt"])));
    assert_eq!(listed(&ann, "B/A").0, strs(&["inner"]));
    let renamed = ann.run(&["mv", "B/A", "B/Ä renamed"]).ok();
    assert!(renamed.stdout.contains("renamed B/A/ to Ä renamed/"), "{}", renamed.stdout);
    // Only its letters' case: a new name too, not a move into itself.
    assert!(ann.run(&["mv", "B", "b"]).ok().stdout.contains("renamed B/ to b/"));
    ann.run(&["mv", "b", "B"]).ok();
    // Several into a folder.
    ann.write("p.txt", b"p");
    ann.write("q.txt", b"q");
    ann.run(&["put", "p.txt", "q.txt"]).ok();
    let several = ann.run(&["mv", "p.txt", "q.txt", "B/Ä renamed"]).ok();
    assert!(several.stdout.contains("moved q.txt to B/Ä renamed/q.txt"), "{}", several.stdout);
    assert_eq!(listed(&ann, "B/Ä renamed").1, strs(&["p.txt", "q.txt"]));
    ann.run(&["mv", "B/Ä renamed/p.txt", "z ž.txt", "nowhere"]).fails(4, "no file or folder called 'z ž.txt'");

    // Into itself, or a folder within it: refused, exit 9, nothing moved.
    ann.run(&["mv", "B", "B/Ä renamed/inner"]).fails(9, "cannot go inside itself");
    ann.run(&["mv", "B", "B"]).fails(9, "cannot go inside itself");
    assert_eq!(listed(&ann, "B").0, strs(&["Ä renamed"]));
    // A name taken where it goes: refused, exit 9.
    ann.write("z ž.txt", b"another");
    ann.run(&["put", "z ž.txt"]).ok();
    ann.run(&["mv", "z ž.txt", "B"]).fails(9, "“z ž.txt” is taken");
    ann.run(&["mv", "z ž.txt", "b/Z Ž.TXT"]).fails(9, "is taken");
    // Not there: exit 4.
    ann.run(&["mv", "nothing.txt", "B"]).fails(4, "no file or folder called 'nothing.txt'");
    ann.run(&["mv", "z ž.txt", "B/no such/z.txt"]).fails(4, "no folder called 'no such' in 'B'");
    ann.run(&["mv", "z ž.txt", "nowhere/"]).fails(4, "no folder called 'nowhere'");

    // rm: a file as before; a folder only with -r, with everything in it.
    ann.run(&["rm", "B"]).fails(2, "'B' is a folder").fails(2, "rm -r B");
    let gone = ann.run(&["rm", "-r", "B"]).ok();
    assert!(gone.stdout.contains("deleted folder B/ with 2 folders and 3 files in it"), "{}", gone.stdout);
    assert_eq!(listed(&ann, "/"), (vec![], strs(&["z ž.txt"])));
    ann.run(&["get", "B/z ž.txt"]).fails(4, "no file at 'B/z ž.txt': there is no folder 'B'");
    ann.run(&["rm", "z ž.txt"]).ok();
    assert!(ann.run(&["ls"]).ok().stdout.contains("no files yet"));
    ann.run(&["rm", "-r", "B"]).fails(4, "no file or folder called 'B'");
}

fn listed_id(p: &Person, folder: &str, name: &str) -> String {
    let v = p.run(&["ls", folder, "--json"]).ok().json();
    let files: &Vec<Value> = v["files"].as_array().unwrap();
    files.iter().find(|f| f["name"] == name).unwrap()["id"].as_str().unwrap().to_owned()
}

/// `link FOLDER` makes a folder link; `open LINK` brings the folder back
/// byte for byte, for someone with no account, counted as one download.
#[test]
fn a_folder_link_opens_as_the_whole_folder() {
    let server = Server::start();
    let ann = Person::signed_up(&server.base, "ann@example.com");
    std::fs::create_dir_all(ann.path("Trip/day 1/empty")).unwrap();
    ann.write("Trip/a.txt", b"aaa");
    ann.write("Trip/day 1/img.jpg", &random_bytes(200_000));
    ann.write("Trip/day 1/ü ☃.txt", b"snow");
    ann.run(&["put", "-r", "Trip"]).ok();
    let made =
        ann.input(&["link", "Trip", "--password-stdin", "--max-downloads", "1", "--json"], "sesame seeds\n").ok();
    let url = made.json()["url"].as_str().unwrap().to_owned();
    assert_eq!(made.json()["link"]["folder_id"].as_str().unwrap(), folder_id(&ann, "Trip"));

    let bob = Person::new();
    let info = bob.run(&["open", &url, "--info"]).ok();
    assert!(info.stdout.contains("Trip/ (a folder)") && info.stdout.contains("needs a password"), "{}", info.stdout);
    bob.input(&["open", &url, "--password-stdin", "-o", "got"], "wrong seeds\n").fails(7, "wrong password");
    let got = bob.input(&["open", &url, "--password-stdin", "-o", "got"], "sesame seeds\n").ok();
    assert!(got.stderr.contains("Trip: 3 files saved to got/Trip"), "{}", got.stderr);
    assert_eq!(local_tree(&bob.path("got/Trip")), local_tree(&ann.path("Trip")));
    // One download for the whole folder: the link is used up.
    bob.input(&["open", &url, "--password-stdin", "-o", "again"], "sesame seeds\n").fails(7, "download limit");
}

/// A folder shared with someone: `share FOLDER`; they see it at their top
/// level and name it, and what is in it, by that path (in any case); only
/// reading is theirs; unsharing takes it from them.
#[test]
fn a_recipient_names_a_shared_folder_by_the_path_they_see() {
    let server = Server::start();
    let ann = Person::signed_up(&server.base, "ann@example.com");
    let bob = Person::signed_up(&server.base, "bob@example.com");
    std::fs::create_dir_all(ann.path("Trip/day 2")).unwrap();
    ann.write("Trip/a.txt", b"aaa");
    ann.write("Trip/day 2/img.jpg", &random_bytes(90_000));
    ann.run(&["put", "-r", "Trip"]).ok();
    let shared = ann.run(&["share", "Trip", "bob@example.com"]).ok();
    assert!(shared.stdout.contains("shared Trip with bob@example.com (no confirmed account"), "{}", shared.stdout);
    let link = shared.stdout.lines().map(str::trim).find(|l| l.starts_with("http")).unwrap().to_owned();
    bob.run(&["verify", &link]).ok();

    let top = bob.run(&["ls", "--json"]).ok().json();
    assert_eq!(top["shared_folders"][0]["name"], "Trip", "{top}");
    let table = bob.run(&["ls"]).ok();
    assert!(table.stdout.contains("Shared with you:") && table.stdout.contains("Trip/"), "{}", table.stdout);
    assert_eq!(listed(&bob, "Trip"), (strs(&["day 2"]), strs(&["a.txt"])));
    assert_eq!(listed(&bob, "trip/DAY 2/"), (vec![], strs(&["img.jpg"])));
    // --shared names it too; for ann it is her own folder, which it does not mean.
    let shared_ls = bob.run(&["ls", "Trip", "--shared", "--json"]).ok().json();
    assert_eq!(shared_ls["files"][0]["name"], "a.txt", "{shared_ls}");
    ann.run(&["ls", "Trip", "--shared"]).fails(2, "'Trip' is one of your folders");
    bob.run(&["get", "Trip/day 2/img.jpg", "-o", "img.jpg"]).ok();
    assert_eq!(std::fs::read(bob.path("img.jpg")).unwrap(), std::fs::read(ann.path("Trip/day 2/img.jpg")).unwrap());
    bob.run(&["get", "-r", "Trip/day 2", "-o", "got"]).ok();
    assert_eq!(local_tree(&bob.path("got/day 2")), local_tree(&ann.path("Trip/day 2")));
    bob.run(&["ls", "Trip/nope"]).fails(4, "no file or folder called 'nope' in 'Trip', a folder shared with you");
    bob.run(&["get", "Trip/day 2/nope.jpg"]).fails(4, "in 'Trip/day 2', a folder shared with you");
    // Reading only: his own commands do not reach into it.
    bob.run(&["rm", "Trip/a.txt"]).fails(4, "");
    bob.run(&["share", "Trip", "eve@example.com"]).fails(4, "");

    ann.run(&["unshare", "Trip", "bob@example.com"]).ok();
    bob.run(&["ls", "Trip"]).fails(4, "no file or folder called 'Trip'");
    assert_eq!(bob.run(&["ls", "--json"]).ok().json()["shared_folders"], serde_json::json!([]));
}

//! The repository needs nothing beside it: a user's clone has no sibling `shared` folder
//! and no developer's home directory, so no tracked file may name a path outside the
//! repository, and no symbolic link may point out of it.

use std::path::{Component, Path, PathBuf};
use std::process::Command;

use artifact_registry_tests::repo_root;

/// Paths that exist only on somebody's machine. Each is built from two pieces so that
/// this file does not match itself.
fn outside_paths() -> Vec<String> {
    [("../", "shared"), ("/", "home/"), ("/", "root/"), ("/", "work/"), ("/", "Users/"), ("C:", "\\Users")]
        .iter()
        .map(|(a, b)| format!("{a}{b}"))
        .collect()
}

/// The files git tracks (the ones a clone has), as paths relative to the root.
fn tracked_files(root: &Path) -> Vec<PathBuf> {
    let out = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(root)
        .output()
        .expect("git runs (the test reads the tracked files)");
    assert!(out.status.success(), "git ls-files failed: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| PathBuf::from(String::from_utf8(p.to_vec()).expect("a UTF-8 path")))
        .collect()
}

/// `link`'s target, resolved lexically against the link's folder, stays inside the root.
fn link_stays_inside(link: &Path, target: &Path) -> bool {
    if target.is_absolute() {
        return false;
    }
    let mut depth = link.components().count() as i64 - 1;
    for part in target.components() {
        match part {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            _ => {}
        }
        if depth < 0 {
            return false;
        }
    }
    true
}

fn offences(root: &Path, files: &[PathBuf]) -> Vec<String> {
    let patterns = outside_paths();
    let mut found = Vec::new();
    for file in files {
        let path = root.join(file);
        let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&path).expect("a readable link");
            if !link_stays_inside(file, &target) {
                found.push(format!("{}: a link to {}", file.display(), target.display()));
            }
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else { continue }; // binary data
        for (n, line) in text.lines().enumerate() {
            if let Some(p) = patterns.iter().find(|p| line.contains(p.as_str())) {
                found.push(format!("{}:{}: names {p}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    found
}

#[test]
fn no_tracked_file_refers_to_a_path_outside_the_repository() {
    let root = repo_root();
    let files = tracked_files(&root);
    assert!(files.len() > 100, "git listed only {} files", files.len());
    let found = offences(&root, &files);
    assert!(found.is_empty(), "paths outside the repository:\n{}", found.join("\n"));
}

#[test]
fn the_check_finds_what_it_looks_for() {
    let dir = std::env::temp_dir().join(format!("self-contained-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("good.md"), "see docs/API.md\n").unwrap();
    std::fs::write(dir.join("bad.md"), format!("see {}{}/spec/API.md\n", "../", "shared")).unwrap();
    std::fs::write(dir.join("home.sh"), format!("cd /{}/ci/x\n", "home")).unwrap();
    std::os::unix::fs::symlink("../good.md", dir.join("sub/inside")).unwrap();
    std::os::unix::fs::symlink("../../elsewhere", dir.join("sub/outside")).unwrap();
    let files: Vec<PathBuf> =
        ["good.md", "bad.md", "home.sh", "sub/inside", "sub/outside"].iter().map(PathBuf::from).collect();
    let found = offences(&dir, &files);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(found[0].starts_with("bad.md:1:"), "{found:#?}");
    assert!(found[1].starts_with("home.sh:1:"), "{found:#?}");
    assert!(found[2].starts_with("sub/outside: a link"), "{found:#?}");
}

//! The core's modules read top to bottom: no top-level module of `core/src` reaches,
//! through `crate::…` paths outside its tests and comments, a module that reaches it
//! back. Today's order, from the top: `json_api`, `driver` → `client` → `providers` →
//! `oci` → `config` → `auth` → `protocol`, `types`, `naming` → `engine`, `partition` →
//! `error` → `secret`.

use std::collections::{BTreeMap, BTreeSet};

use artifact_registry_tests::repo_root;

type Graph = BTreeMap<String, BTreeSet<String>>;

/// Which top-level module each file's non-test code names, from `(path under
/// core/src, text)` pairs.
fn graph(files: &[(String, String)]) -> Graph {
    let mut graph = Graph::new();
    for (path, text) in files {
        let top = path.split('/').next().unwrap_or(path).trim_end_matches(".rs").to_owned();
        if ["lib", "fuzzing", "parser_properties"].contains(&top.as_str()) {
            continue; // the crate root and test-only entry points see everything
        }
        let code = text.split("#[cfg(test)]\nmod").next().unwrap_or(text);
        for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for (at, _) in line.match_indices("crate::") {
                let name: String =
                    line[at + 7..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                if name.starts_with(|c: char| c.is_ascii_lowercase()) && name != top {
                    graph.entry(top.clone()).or_default().insert(name);
                }
            }
        }
    }
    graph
}

/// Every edge `a -> b` from which `a` can be reached again.
fn back_edges(graph: &Graph) -> Vec<(String, String)> {
    let reaches = |from: &str, to: &str| {
        let (mut seen, mut stack) = (BTreeSet::new(), vec![from.to_owned()]);
        while let Some(n) = stack.pop() {
            if n == to {
                return true;
            }
            if seen.insert(n.clone()) {
                stack.extend(graph.get(&n).into_iter().flatten().cloned());
            }
        }
        false
    };
    let mut out = Vec::new();
    for (a, targets) in graph {
        for b in targets {
            if reaches(b, a) {
                out.push((a.clone(), b.clone()));
            }
        }
    }
    out
}

fn core_files() -> Vec<(String, String)> {
    let src = repo_root().join("core/src");
    let mut files = Vec::new();
    let mut dirs = vec![src.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let name = path.strip_prefix(&src).unwrap().to_str().unwrap().to_owned();
                files.push((name, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    files
}

#[test]
fn the_core_has_no_import_cycle_between_its_modules() {
    let files = core_files();
    assert!(files.len() > 30, "read the core's sources ({} files)", files.len());
    let graph = graph(&files);
    assert!(graph["providers"].contains("auth"), "the graph sees real edges: {graph:?}");
    assert_eq!(back_edges(&graph), [], "modules that import each other: {graph:#?}");
}

#[test]
fn a_planted_cycle_is_found() {
    let file = |p: &str, t: &str| (p.to_owned(), t.to_owned());
    let files = [
        file("auth/mod.rs", "use crate::config::X;\n// crate::client in a comment\n"),
        file("config.rs", "use crate::auth::Y;\n#[cfg(test)]\nmod tests { use crate::client::Z; }\n"),
        file("client.rs", "use crate::config::W;\n"),
    ];
    let edges = back_edges(&graph(&files));
    assert_eq!(edges, [("auth".to_owned(), "config".to_owned()), ("config".to_owned(), "auth".to_owned())]);
}

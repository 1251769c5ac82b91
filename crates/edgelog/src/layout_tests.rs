//! The layout ARCHITECTURE.md draws, checked against the code: no import
//! cycle between top-level modules or between the files of one folder,
//! `config` imports nothing of the crate, and nothing outside `cli/`,
//! `output.rs` and the report renderers writes to stdout or stderr.
//! References are read from the source text (`crate::a::b`, `super::x`);
//! test code (after the first `#[cfg(test)]`, and `*_tests.rs`) is left out.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every non-test source file: its module path and its text before any test code.
fn sources() -> Vec<(Vec<String>, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&root, &mut files);
    files
        .into_iter()
        .filter(|p| !p.to_string_lossy().ends_with("_tests.rs"))
        .filter(|p| p.file_name().is_some_and(|n| n != "main.rs" && n != "lib.rs"))
        .map(|p| {
            let rel = p.strip_prefix(&root).unwrap().with_extension("");
            let mut module: Vec<String> = rel.iter().map(|c| c.to_string_lossy().into_owned()).collect();
            if module.last().is_some_and(|m| m == "mod") {
                module.pop();
            }
            let text = std::fs::read_to_string(&p).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default().to_string();
            (module, code)
        })
        .collect()
}

/// Module paths `code` (of module `module`) refers to, among `known`
/// (two levels deep at most; items such as `super::Dialect` are not modules).
fn references(module: &[String], code: &str, known: &BTreeSet<Vec<String>>) -> BTreeSet<Vec<String>> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    // `a::b`, `a::{b, c}` or `{a, b}` after a prefix: the names at the first two levels.
    let paths = |rest: &str| -> Vec<Vec<String>> {
        let names = |list: &str| -> Vec<String> {
            let list = list.split('}').next().unwrap_or_default();
            list.split(',')
                .map(|n| ident(n.trim()))
                .filter(|n| !n.is_empty())
                .collect()
        };
        if let Some(list) = rest.strip_prefix('{') {
            return names(list).into_iter().map(|n| vec![n]).collect();
        }
        let first = ident(rest);
        let after = &rest[first.len()..];
        match after.strip_prefix("::") {
            Some(tail) if tail.starts_with('{') => {
                let mut out = vec![vec![first.clone()]];
                out.extend(names(&tail[1..]).into_iter().map(|n| vec![first.clone(), n]));
                out
            }
            Some(tail) => vec![vec![first.clone()], vec![first, ident(tail)]],
            None => vec![vec![first]],
        }
    };
    let parent = &module[..module.len() - 1];
    let mut out = BTreeSet::new();
    for line in code.lines().map(str::trim_start).filter(|l| !l.starts_with("//")) {
        for (i, _) in line.match_indices("crate::") {
            out.extend(paths(&line[i + 7..]));
        }
        for (i, _) in line.match_indices("super::") {
            for p in paths(&line[i + 7..]) {
                out.insert(parent.iter().cloned().chain(p).take(2).collect());
            }
        }
    }
    out.retain(|p| known.contains(p));
    // Keep only the deepest known path of each reference.
    let deep: BTreeSet<Vec<String>> = out.iter().filter(|p| p.len() == 2).cloned().collect();
    out.retain(|p| p.len() == 2 || !deep.iter().any(|d| d[0] == p[0]));
    out
}

/// A cycle in `edges`, if there is one.
fn cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == n) {
            let mut c = path[at..].to_vec();
            c.push(n.to_string());
            return Some(c);
        }
        if done.contains(n) {
            return None;
        }
        path.push(n.to_string());
        for next in edges.get(n).into_iter().flatten() {
            if let Some(c) = visit(next, edges, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    edges.keys().find_map(|n| visit(n, edges, &mut Vec::new(), &mut done))
}

#[test]
fn no_import_cycle_between_modules_or_between_the_files_of_a_folder() {
    let files = sources();
    let known: BTreeSet<Vec<String>> = files.iter().map(|(m, _)| m.clone()).collect();
    let mut top: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut inner: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (module, code) in &files {
        for target in references(module, code, &known) {
            if target[0] != module[0] {
                top.entry(module[0].clone()).or_default().insert(target[0].clone());
            } else if module.len() > 1 && target.len() > 1 && target[1] != module[1] {
                // Siblings in one folder (the folder's mod.rs, which
                // declares and re-exports them, is not one of them).
                inner
                    .entry(module[0].clone())
                    .or_default()
                    .entry(module[1].clone())
                    .or_default()
                    .insert(target[1].clone());
            }
        }
    }
    assert!(top.len() >= 8, "modules found: {top:?}");
    if let Some(c) = cycle(&top) {
        panic!("import cycle between modules: {}\n{top:#?}", c.join(" -> "));
    }
    for (folder, edges) in &inner {
        if let Some(c) = cycle(edges) {
            panic!("import cycle in {folder}/: {}\n{edges:#?}", c.join(" -> "));
        }
    }
    assert!(!top.contains_key("config"), "config imports {:?}", top.get("config"));
    // The front door is called, never calls up: only the CLI, the demo and
    // the capabilities built on it (ingest, alerts, the server, the cluster) ask it.
    for (from, to) in &top {
        if to.contains("engine") {
            assert!(
                ["cli", "demo", "ingest", "alert", "server", "cluster"].contains(&from.as_str()),
                "{from} imports engine"
            );
        }
        assert!(!to.contains("cli"), "{from} imports cli");
    }
}

#[test]
fn nothing_below_the_cli_and_the_renderers_writes_to_stdout_or_stderr() {
    let printing = [
        "println!",
        "print!(",
        "eprintln!",
        "eprint!(",
        "dbg!",
        "stdout()",
        "stderr()",
    ];
    for (module, code) in sources() {
        let path = module.join("/");
        let allowed =
            module[0] == "cli" || path == "output" || path.starts_with("report/render") || path == "report/html";
        if allowed {
            continue;
        }
        for (n, line) in code.lines().enumerate() {
            let line = line.trim_start();
            if line.starts_with("//") {
                continue;
            }
            if let Some(p) = printing.iter().find(|p| line.contains(*p)) {
                panic!("{path}.rs:{}: {p} below the CLI: {line}", n + 1);
            }
        }
    }
}

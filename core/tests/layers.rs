//! The core's modules import each other without a circle: each `crate::` path
//! in a module's code (comments and `#[cfg(test)] mod tests` left out) is an
//! edge to the deepest module it names, and the graph of files must have no
//! cycle. A module and its own ancestors or descendants do not count (a parent
//! declares its children; a child may use its parent's items).

// A test of the core's own sources: it reads them, and fails loudly if it cannot.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every module of `src`, by path (`machine::retry`), with its source.
fn modules(src: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(src).unwrap().with_extension("");
            let mut parts: Vec<String> = relative
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
                parts.pop();
            }
            out.insert(parts.join("::"), std::fs::read_to_string(&path).unwrap());
        }
    }
    out
}

/// The code of a module: no comment lines, no test module.
fn code(source: &str) -> String {
    let source = source
        .split("#[cfg(test)]\nmod tests")
        .next()
        .unwrap_or_default();
    source
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The `crate::` paths a module names, with `{a, b}` groups expanded one level.
fn crate_paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(rest.len());
        let base = rest[..end].trim_end_matches(':').to_owned();
        if rest[end..].starts_with('{') {
            let group = &rest[end + 1..rest[end..].find('}').map_or(end, |c| end + c)];
            for item in group.split(',') {
                let item = item.split(" as ").next().unwrap_or_default().trim();
                if !item.is_empty() && item != "self" {
                    out.push(format!("{base}::{item}"));
                }
            }
        }
        out.push(base);
    }
    out
}

/// The deepest module `path` names.
fn owner<'a>(path: &str, modules: &'a BTreeMap<String, String>) -> Option<&'a str> {
    let segments: Vec<&str> = path.split("::").collect();
    (1..=segments.len()).rev().find_map(|n| {
        let key = segments[..n].join("::");
        modules.get_key_value(&key).map(|(k, _)| k.as_str())
    })
}

fn related(a: &str, b: &str) -> bool {
    a.starts_with(&format!("{b}::")) || b.starts_with(&format!("{a}::"))
}

/// The import edges between modules.
fn edges(modules: &BTreeMap<String, String>) -> BTreeMap<&str, BTreeSet<&str>> {
    let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (name, source) in modules {
        let targets = edges.entry(name.as_str()).or_default();
        if name.is_empty() {
            continue; // The crate root declares and re-exports everything.
        }
        for path in crate_paths(&code(source)) {
            if let Some(target) = owner(&path, modules)
                && target != name
                && !target.is_empty()
                && !related(name, target)
            {
                targets.insert(target);
            }
        }
    }
    edges
}

/// The first circle a depth-first walk finds, as the modules along it.
fn circle<'a>(edges: &BTreeMap<&'a str, BTreeSet<&'a str>>) -> Option<Vec<&'a str>> {
    fn visit<'a>(
        node: &'a str,
        edges: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<&'a str>> {
        if let Some(start) = path.iter().position(|n| *n == node) {
            let mut circle = path[start..].to_vec();
            circle.push(node);
            return Some(circle);
        }
        if !done.insert(node) {
            return None;
        }
        path.push(node);
        for next in edges.get(node).into_iter().flatten() {
            if let Some(circle) = visit(next, edges, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|node| visit(node, edges, &mut Vec::new(), &mut done))
}

#[test]
fn the_core_has_no_import_circle() {
    let modules = modules(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let edges = edges(&modules);
    if let Some(circle) = circle(&edges) {
        panic!("an import circle: {}", circle.join(" -> "));
    }
    // The check sees real edges: the retry machine builds on the exchange.
    assert!(edges["machine::retry"].contains("exchange"));
}

#[test]
fn a_circle_is_found_where_there_is_one() {
    let modules: BTreeMap<String, String> = [
        ("".to_owned(), String::new()),
        ("a".to_owned(), "use crate::b::{One, Two};".to_owned()),
        (
            "b".to_owned(),
            "// crate::a is only named in a comment\nfn f() { crate::c::g() }".to_owned(),
        ),
        ("c".to_owned(), "use crate::a::Three;".to_owned()),
        ("a::inner".to_owned(), "use crate::a::Four;".to_owned()),
    ]
    .into_iter()
    .collect();
    assert_eq!(circle(&edges(&modules)), Some(vec!["a", "b", "c", "a"]));
}

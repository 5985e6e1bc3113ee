//! The data flows one way and the module tree shows it: no module of `tcptop/src`
//! imports one that imports it back, directly or through others. Imports are `use`
//! paths (`crate::`, `super::`, `self::`, re-exports included), `crate::` paths in code,
//! and a parent's `child::` paths, each resolved to the module file that defines it.
//! Test modules are left out.
use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
};

type Module = Vec<String>;

/// Every module file under `src`, by module path.
fn modules(src: &Path) -> BTreeMap<Module, PathBuf> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).expect("read src") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path
                .strip_prefix(src)
                .expect("under src")
                .with_extension("");
            let mut m: Module = rel.iter().map(|c| c.to_string_lossy().into()).collect();
            if matches!(m.last().map(String::as_str), Some("mod" | "lib")) {
                m.pop();
            }
            let skip = m.first().is_some_and(|f| f == "main" || f == "bin")
                || m.last()
                    .is_some_and(|l| matches!(l.as_str(), "tests" | "snapshots" | "testdata"));
            if !skip {
                out.insert(m, path);
            }
        }
    }
    out
}

/// The paths of a `use` tree: `a::{b, c::d}` gives `a::b` and `a::c::d`.
fn expand(prefix: &[String], tree: &str, out: &mut Vec<Module>) {
    let tree = tree.trim();
    if let Some(inner) = tree.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
        let (mut depth, mut start) = (0, 0);
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand(prefix, &inner[start..i], out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        if !inner[start..].trim().is_empty() {
            expand(prefix, &inner[start..], out);
        }
    } else if let Some((head, rest)) = tree.split_once("::") {
        let mut p = prefix.to_vec();
        p.push(head.trim().into());
        expand(&p, rest, out);
    } else if !tree.is_empty() {
        let mut p = prefix.to_vec();
        p.push(tree.split(" as ").next().unwrap_or(tree).trim().into());
        out.push(p);
    }
}

/// The longest module path that `path` starts with.
fn resolve(mods: &BTreeMap<Module, PathBuf>, path: &[String]) -> Option<Module> {
    (0..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|p| mods.contains_key(p))
}

/// Identifier characters.
fn ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The `crate::a::b` paths written in `src`.
fn crate_paths(src: &str) -> Vec<Module> {
    let mut out = Vec::new();
    let mut rest = src;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().next_back();
        rest = &rest[i + "crate::".len()..];
        if before.is_some_and(ident) {
            continue;
        }
        let end = rest
            .find(|c: char| !ident(c) && c != ':')
            .unwrap_or(rest.len());
        out.push(
            rest[..end]
                .split("::")
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
        );
    }
    out
}

/// What module `m` (in file `file`) imports.
fn imports(mods: &BTreeMap<Module, PathBuf>, m: &Module, file: &Path) -> BTreeSet<Module> {
    let text = fs::read_to_string(file).expect("read module");
    let src = text.split("#[cfg(test)]\nmod tests").next().unwrap_or("");
    let mut paths = Vec::new();
    let mut rest = src;
    while let Some(i) = rest.find("use ") {
        let line_start = rest[..i].rfind('\n').map_or(0, |n| n + 1);
        let lead = rest[line_start..i].trim();
        let is_use = lead.is_empty() || lead == "pub" || lead.starts_with("pub(");
        rest = &rest[i + 4..];
        let Some(end) = rest.find(';') else { break };
        if !is_use {
            continue;
        }
        let tree: String = rest[..end].split_whitespace().collect::<Vec<_>>().join(" ");
        let mut found = Vec::new();
        expand(&[], &tree, &mut found);
        for p in found {
            let Some(first) = p.first() else { continue };
            let mut base: Module = match first.as_str() {
                "crate" => Vec::new(),
                "self" => m.clone(),
                "super" => m[..m.len().saturating_sub(1)].to_vec(),
                _ => continue,
            };
            let mut tail = &p[1..];
            while tail.first().is_some_and(|s| s == "super") {
                base.pop();
                tail = &tail[1..];
            }
            base.extend(tail.iter().cloned());
            paths.push(base);
        }
        rest = &rest[end..];
    }
    paths.extend(crate_paths(src));
    let mut out: BTreeSet<Module> = paths.iter().filter_map(|p| resolve(mods, p)).collect();
    // A parent that calls into a child by path (`header::render(...)`).
    let code: String = src
        .lines()
        .filter(|l| !l.trim_start().starts_with("pub mod ") && !l.trim_start().starts_with("mod "))
        .collect::<Vec<_>>()
        .join("\n");
    for child in mods
        .keys()
        .filter(|k| k.len() == m.len() + 1 && k.starts_with(m))
    {
        let needle = format!("{}::", child[m.len()]);
        let mut at = code.as_str();
        while let Some(i) = at.find(&needle) {
            let before = at[..i].chars().next_back();
            if !before.is_some_and(|c| ident(c) || c == ':') {
                out.insert(child.clone());
                break;
            }
            at = &at[i + needle.len()..];
        }
    }
    out.remove(m);
    out.remove(&Vec::new());
    out
}

/// A cycle in `edges`, if there is one.
fn cycle(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Option<Vec<Module>> {
    fn visit(
        n: &Module,
        edges: &BTreeMap<Module, BTreeSet<Module>>,
        state: &mut BTreeMap<Module, bool>,
        stack: &mut Vec<Module>,
    ) -> Option<Vec<Module>> {
        state.insert(n.clone(), false);
        stack.push(n.clone());
        for next in edges.get(n).into_iter().flatten() {
            match state.get(next) {
                Some(false) => {
                    let from = stack.iter().position(|s| s == next).unwrap_or(0);
                    let mut c = stack[from..].to_vec();
                    c.push(next.clone());
                    return Some(c);
                }
                Some(true) => {}
                None => {
                    if let Some(c) = visit(next, edges, state, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        state.insert(n.clone(), true);
        None
    }
    let mut state = BTreeMap::new();
    for n in edges.keys() {
        if !state.contains_key(n) {
            if let Some(c) = visit(n, edges, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mods = modules(&src);
    assert!(mods.len() > 40, "found only {} modules", mods.len());
    let edges: BTreeMap<Module, BTreeSet<Module>> = mods
        .iter()
        .map(|(m, f)| (m.clone(), imports(&mods, m, f)))
        .collect();
    let name = |m: &Module| m.join("::");
    // The checker sees real imports: the UI draws with the view's formats.
    let ui_table = edges.get(&vec!["ui".to_string(), "table".to_string()]);
    assert!(
        ui_table.is_some_and(|e| e.iter().any(|m| name(m) == "ui::columns")),
        "{ui_table:?}"
    );
    if let Some(c) = cycle(&edges) {
        let path: Vec<String> = c.iter().map(name).collect();
        panic!("import cycle: {}", path.join(" -> "));
    }
}

#[test]
fn the_checker_finds_a_cycle() {
    let a: Module = vec!["a".into()];
    let b: Module = vec!["b".into()];
    let edges = BTreeMap::from([
        (a.clone(), BTreeSet::from([b.clone()])),
        (b.clone(), BTreeSet::from([a.clone()])),
    ]);
    assert_eq!(cycle(&edges), Some(vec![a.clone(), b, a]));
    let mut out = Vec::new();
    expand(&[], "super::{a, b::{c, D as E}}", &mut out);
    assert_eq!(out.len(), 3);
    assert_eq!(out[2], ["super", "b", "D"]);
}

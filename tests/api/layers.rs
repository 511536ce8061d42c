//! The module graph, checked on the source: web → signin → store/domain/factors with no import
//! back up, the core free of the web framework, and no circle between the web's areas. A slip
//! here fails the suite, so the layering in docs/architecture.md stays true.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without its unit tests and comments.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = text.split("\n#[cfg(test)]").next().unwrap_or_default();
    text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// The names that follow `prefix` in `text`: `prefix::a`, or each item of `prefix::{a, b::c}`.
fn names_after(text: &str, prefix: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    let mut before = None;
    while let Some(at) = rest.find(prefix) {
        let previous = if at == 0 { before } else { rest[..at].chars().last() };
        before = prefix.chars().last();
        rest = &rest[at + prefix.len()..];
        // `super::super::x` must not also count as `super::x`.
        if prefix.starts_with("super::") && previous == Some(':') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let (mut depth, mut item, mut end) = (0, String::new(), group.len());
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        end = i;
                        break;
                    }
                    '}' => depth -= 1,
                    _ => {}
                }
                if c == ',' && depth == 0 {
                    names.push(std::mem::take(&mut item));
                } else {
                    item.push(c);
                }
            }
            names.push(item);
            rest = &group[end..];
        } else {
            names.push(rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect());
        }
    }
    names
        .into_iter()
        .map(|n| n.trim().split("::").next().unwrap_or_default().split(' ').next().unwrap_or_default().to_string())
        .filter(|n| !n.is_empty() && n != "self" && n != "super")
        .collect()
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Top-level module of each file → the top-level modules it refers to.
fn top_level_graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    sources(&src(), &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let rel = file.strip_prefix(src()).unwrap();
        let first = rel.components().next().unwrap().as_os_str().to_string_lossy().trim_end_matches(".rs").to_string();
        let deps = graph.entry(first.clone()).or_default();
        for name in names_after(&code(&file), "crate::") {
            if name != first {
                deps.insert(name);
            }
        }
    }
    graph
}

#[test]
fn each_layer_imports_only_the_layers_below_it() {
    let graph = top_level_graph();
    // What a layer may use; anything else is an import back up (or sideways where none belongs).
    let allowed: &[(&str, &[&str])] = &[
        ("domain", &[]),
        ("secrets", &[]),
        ("clock", &[]),
        ("store", &["domain", "secrets"]),
        ("factors", &["domain", "secrets", "config"]),
        ("config", &["domain"]),
        // The location databases (read-only lookups for the access rules).
        ("geoip", &["config", "domain"]),
        // The OpenID provider's keys, claims and Entra's hints (its door is web::openid).
        ("openid", &["config", "domain", "secrets", "store"]),
        ("channels", &["clock", "config", "domain", "factors", "policy", "secrets", "shutdown", "store"]),
        // The LDAP/AD directory: password checks for the core, and the sync.
        ("directory", &["clock", "config", "domain", "secrets", "shutdown", "store"]),
        (
            "signin",
            &[
                "channels",
                "clock",
                "config",
                "directory",
                "domain",
                "factors",
                "geoip",
                "passwords",
                "policy",
                "secrets",
                "shutdown",
                "store",
                "tokens",
            ],
        ),
        ("words", &["channels", "domain", "signin"]),
        // SCIM provisioning over the core's context (its door is web::scim).
        ("scim", &["clock", "domain", "secrets", "signin", "store"]),
        // A door beside web: over the core, never through web.
        ("radius", &["config", "domain", "metrics", "secrets", "signin", "store", "words"]),
    ];
    let mut slips = Vec::new();
    for (layer, may) in allowed {
        for dep in graph.get(*layer).into_iter().flatten() {
            if !may.contains(&dep.as_str()) {
                slips.push(format!("{layer} imports {dep}"));
            }
        }
    }
    for (module, deps) in &graph {
        if deps.contains("web") && !["app", "web", "main"].contains(&module.as_str()) {
            slips.push(format!("{module} imports web (only the web layer and app.rs may)"));
        }
    }
    assert!(slips.is_empty(), "layering slips: {slips:#?}");
}

#[test]
fn the_sign_in_core_and_the_radius_door_know_nothing_of_http() {
    let mut files = Vec::new();
    sources(&src().join("signin"), &mut files);
    sources(&src().join("radius"), &mut files);
    for file in files {
        let code = code(&file);
        for framework in ["actix", "HttpRequest", "HttpResponse", "askama", "serde_json::json!"] {
            assert!(!code.contains(framework), "{} uses {framework}", file.display());
        }
    }
}

#[test]
fn the_web_areas_import_each_other_in_no_circle() {
    let web = src().join("web");
    let mod_rs = std::fs::read_to_string(web.join("mod.rs")).unwrap();
    // Items re-exported by web/mod.rs belong to the area they come from.
    let mut reexported = BTreeMap::new();
    for line in mod_rs.lines().filter(|l| l.contains(" use ") && l.trim_start().starts_with("pub")) {
        let path = line.split(" use ").nth(1).unwrap().trim_end_matches(';');
        let (area, items) = path.split_once("::").unwrap();
        for item in items.trim_matches(|c| c == '{' || c == '}').split(',') {
            let name = item.split(" as ").last().unwrap().trim();
            reexported.insert(name.to_string(), area.to_string());
        }
    }
    let mut files = Vec::new();
    sources(&web, &mut files);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let rel: Vec<String> = file
            .strip_prefix(&web)
            .unwrap()
            .components()
            .map(|c| c.as_os_str().to_string_lossy().to_string())
            .collect();
        if rel == ["mod.rs"] {
            continue;
        }
        let area = rel[0].trim_end_matches(".rs").to_string();
        // The prefix that names the web module itself, seen from this file.
        let up = match rel.len() {
            1 => "super::".to_string(),
            2 if rel[1] == "mod.rs" => "super::".to_string(),
            n => "super::".repeat(n),
        };
        let code = code(&file);
        let mut names = names_after(&code, "crate::web::");
        names.extend(names_after(&code, &up));
        for name in names {
            let target = reexported.get(&name).cloned().unwrap_or(name);
            if target != area && (web.join(format!("{target}.rs")).exists() || web.join(&target).is_dir()) {
                edges.entry(area.clone()).or_default().insert(target);
            }
        }
    }
    // Depth-first search for a path back to where it started.
    fn back_to(start: &str, at: &str, edges: &BTreeMap<String, BTreeSet<String>>, path: &mut Vec<String>) -> bool {
        for next in edges.get(at).into_iter().flatten() {
            if next == start {
                return true;
            }
            if !path.contains(next) {
                path.push(next.clone());
                if back_to(start, next, edges, path) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    assert!(edges.len() > 10, "the areas were found: {edges:?}");
    for area in edges.keys() {
        let mut path = vec![area.clone()];
        assert!(!back_to(area, area, &edges, &mut path), "a circle between web areas: {} → {area}", path.join(" → "));
    }
}

#[test]
fn the_checker_sees_imports_in_every_form() {
    let text = "use crate::web::{a, b::c, d as e};\nuse super::super::f;\nlet x = crate::g::h();";
    assert_eq!(names_after(text, "crate::web::"), ["a", "b", "d"]);
    assert_eq!(names_after(text, "super::super::"), ["f"]);
    assert_eq!(names_after(text, "super::"), Vec::<String>::new());
    assert_eq!(names_after(text, "crate::"), ["web", "g"]);
}

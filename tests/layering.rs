//! The crate's floors, read from its source: `src/domain/` imports nothing of the crate
//! outside `domain`, and no circle of imports runs between the crate's top-level modules.
//!
//! Each file is read as Rust tokens (comments gone, strings whole), so a path is found
//! wherever it stands: in a `use`, inline in code, or inside a macro or an attribute.
//! `crate::…`, `$crate::…`, `super::…` and `self::…` are resolved against the module the
//! tokens sit in, inline `mod x { … }` blocks included, and `{a, b::c}` groups are followed.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
    str::FromStr,
};

use proc_macro2::{Delimiter, TokenStream, TokenTree};

/// Where one module of the crate names another: the file, and the path as written.
#[derive(Debug, Clone)]
struct Reference {
    file: PathBuf,
    /// The module the tokens sit in, from the crate root.
    from: Vec<String>,
    /// The path named, resolved from the crate root: its first segment is a top-level
    /// module (or an item of the root).
    to: Vec<String>,
}

#[test]
fn the_domain_imports_nothing_of_the_crate_outside_the_domain() {
    let outside: Vec<String> = references()
        .into_iter()
        .filter(|r| r.from.first().is_some_and(|m| m == "domain"))
        .filter(|r| r.to.first().is_none_or(|m| m != "domain"))
        .map(|r| format!("{}: crate::{}", r.file.display(), r.to.join("::")))
        .collect();
    assert!(
        outside.is_empty(),
        "src/domain/ stands on the ground floor, yet names the crate outside it:\n{}",
        outside.join("\n")
    );
}

#[test]
fn no_import_circle_runs_between_the_crates_modules() {
    let modules = top_level_modules();
    let mut graph: BTreeMap<String, BTreeMap<String, BTreeSet<PathBuf>>> = BTreeMap::new();
    for r in references() {
        let (Some(from), Some(to)) = (r.from.first(), r.to.first()) else {
            continue;
        };
        if from != to && modules.contains(to) {
            graph
                .entry(from.clone())
                .or_default()
                .entry(to.clone())
                .or_default()
                .insert(r.file);
        }
    }
    let circles: Vec<String> = circles(&graph)
        .into_iter()
        .map(|circle| {
            let hops: Vec<String> = circle
                .windows(2)
                .map(|hop| {
                    let files: Vec<String> = graph[&hop[0]][&hop[1]]
                        .iter()
                        .map(|f| f.display().to_string())
                        .collect();
                    format!("  {} -> {} ({})", hop[0], hop[1], files.join(", "))
                })
                .collect();
            format!("{}\n{}", circle.join(" -> "), hops.join("\n"))
        })
        .collect();
    assert!(
        circles.is_empty(),
        "the crate's modules import each other in a circle:\n{}",
        circles.join("\n")
    );
}

#[test]
fn the_reader_resolves_groups_inline_paths_and_super() {
    let read = |module: &[&str], source: &str| -> Vec<String> {
        let module: Vec<String> = module.iter().map(|s| s.to_string()).collect();
        let mut found = Vec::new();
        scan(
            TokenStream::from_str(source).unwrap(),
            &module,
            &mut |_, to| found.push(to.join("::")),
        );
        found
    };
    assert_eq!(
        read(
            &["routes"],
            "use crate::{db::Store, error::{AppError, field}, clock};"
        ),
        ["db::Store", "error::AppError", "error::field", "clock"]
    );
    assert_eq!(
        read(&["routes"], "fn f() { let s = crate::db::Store::new(); }"),
        ["db::Store::new"]
    );
    assert_eq!(
        read(
            &["domain", "goal"],
            "use super::{ids::GoalId, super::error};"
        ),
        ["domain::ids::GoalId", "error"]
    );
    assert_eq!(
        read(
            &["domain"],
            "mod tests { use super::super::db; use super::goal; }"
        ),
        ["db", "domain::goal"]
    );
    assert_eq!(
        read(
            &["db"],
            "macro_rules! m { () => { $crate::metrics::x() } } pub(crate) fn f() {}"
        ),
        ["metrics::x"]
    );
    assert!(read(&["domain"], "// crate::db\nconst S: &str = \"crate::db\";").is_empty());
}

/// Every reference from one module of the crate to a path of the crate, in `src/` but
/// the binary's `main.rs` (another crate, over the library).
fn references() -> Vec<Reference> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    for file in rust_files(&src) {
        let relative = file.strip_prefix(&src).unwrap().to_path_buf();
        if relative == Path::new("main.rs") {
            continue;
        }
        let module = module_of(&relative);
        let text = fs::read_to_string(&file).unwrap();
        let tokens = TokenStream::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not Rust: {e:?}", file.display()));
        scan(tokens, &module, &mut |from, to| {
            found.push(Reference {
                file: Path::new("src").join(&relative),
                from: from.to_vec(),
                to,
            })
        });
    }
    found
}

/// The top-level modules: the files and folders directly under `src/`.
fn top_level_modules() -> BTreeSet<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    fs::read_dir(&src)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter_map(|path| {
            let name = path.file_name()?.to_str()?.to_owned();
            match name.strip_suffix(".rs") {
                Some("lib" | "main") => None,
                Some(stem) => Some(stem.to_owned()),
                None if path.is_dir() => Some(name),
                None => None,
            }
        })
        .collect()
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// `lib.rs` is the root, `db/mod.rs` is `db`, `db/sql.rs` is `db::sql`.
fn module_of(relative: &Path) -> Vec<String> {
    let mut module: Vec<String> = relative
        .with_extension("")
        .iter()
        .map(|part| part.to_str().unwrap().to_owned())
        .collect();
    if matches!(module.last().map(String::as_str), Some("mod" | "lib")) {
        module.pop();
    }
    module
}

/// Calls `found(module, path)` for every path into the crate in `tokens`, which sit in
/// `module`; the path is resolved from the crate root.
fn scan(tokens: TokenStream, module: &[String], found: &mut impl FnMut(&[String], Vec<String>)) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let mut i = 0;
    while i < tokens.len() {
        // `mod name { … }`: the block is a module of its own.
        if let (Some(TokenTree::Ident(kw)), Some(TokenTree::Ident(name)), Some(TokenTree::Group(g))) =
            (tokens.get(i), tokens.get(i + 1), tokens.get(i + 2))
            && kw == "mod"
            && g.delimiter() == Delimiter::Brace
        {
            let mut inner = module.to_vec();
            inner.push(name.to_string());
            scan(g.stream(), &inner, found);
            i += 3;
            continue;
        }
        // A path starts at `crate`, `super` or `self` followed by `::`, unless it continues
        // one (`a::self`), which only a group's `{self}` can be and is taken there.
        let continues = i >= 2 && is_path_sep(&tokens, i - 2);
        if !continues && is_path_start(&tokens, i) {
            i = follow_path(&tokens, i, module, Vec::new(), module, found);
            continue;
        }
        if let TokenTree::Group(g) = &tokens[i] {
            scan(g.stream(), module, found);
        }
        i += 1;
    }
}

fn is_path_start(tokens: &[TokenTree], i: usize) -> bool {
    matches!(&tokens[i], TokenTree::Ident(id) if id == "crate" || id == "super" || id == "self")
        && is_path_sep(tokens, i + 1)
}

/// Whether `::` stands at `i`.
fn is_path_sep(tokens: &[TokenTree], i: usize) -> bool {
    matches!(
        (tokens.get(i), tokens.get(i + 1)),
        (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b))) if a.as_char() == ':' && b.as_char() == ':'
    )
}

/// Follows the path whose first segment is at `i`, with `base` the module it is relative
/// to and `prefix` the segments already taken; reports it and returns the index after it.
fn follow_path(
    tokens: &[TokenTree],
    mut i: usize,
    base: &[String],
    mut prefix: Vec<String>,
    module: &[String],
    found: &mut impl FnMut(&[String], Vec<String>),
) -> usize {
    let mut base = base.to_vec();
    let mut leading = prefix.is_empty();
    while i < tokens.len() {
        match &tokens[i] {
            TokenTree::Ident(id) if leading && id == "crate" => base.clear(),
            TokenTree::Ident(id) if leading && id == "super" => {
                base.pop();
            }
            TokenTree::Ident(id) if leading && id == "self" => {}
            TokenTree::Ident(id) => {
                leading = false;
                prefix.push(id.to_string());
            }
            TokenTree::Group(g) if g.delimiter() == Delimiter::Brace => {
                let mut start = base.clone();
                start.extend(prefix.iter().cloned());
                for item in split_commas(g.stream()) {
                    if item.is_empty() {
                        continue;
                    }
                    follow_path(&item, 0, &start, Vec::new(), module, found);
                }
                return i + 1;
            }
            _ => break,
        }
        if !is_path_sep(tokens, i + 1) {
            i += 1;
            break;
        }
        i += 3;
    }
    base.extend(prefix);
    found(module, base);
    i
}

fn split_commas(tokens: TokenStream) -> Vec<Vec<TokenTree>> {
    let mut items = vec![Vec::new()];
    for token in tokens {
        match &token {
            TokenTree::Punct(p) if p.as_char() == ',' => items.push(Vec::new()),
            _ => items.last_mut().unwrap().push(token),
        }
    }
    items
}

/// A shortest circle through each module that is on one, each written from its least
/// module back to it, without repeats: enough to see every knot there is to undo.
fn circles(graph: &BTreeMap<String, BTreeMap<String, BTreeSet<PathBuf>>>) -> Vec<Vec<String>> {
    let next = |node: &String| -> Vec<String> {
        graph
            .get(node)
            .map(|tos| tos.keys().cloned().collect())
            .unwrap_or_default()
    };
    let mut circles = BTreeSet::new();
    for start in graph.keys() {
        let component = reaching_both_ways(start, &next);
        if component.len() < 2 {
            continue;
        }
        let mut circle = circle_through(start, &component, &next);
        circle.pop();
        let least = (0..circle.len()).min_by_key(|&i| &circle[i]).unwrap();
        circle.rotate_left(least);
        circle.push(circle[0].clone());
        circles.insert(circle);
    }
    circles.into_iter().collect()
}

/// The modules that `start` reaches and that reach `start`.
fn reaching_both_ways(start: &String, next: &impl Fn(&String) -> Vec<String>) -> BTreeSet<String> {
    let reached = |from: &String| -> BTreeSet<String> {
        let mut seen = BTreeSet::from([from.clone()]);
        let mut todo = vec![from.clone()];
        while let Some(node) = todo.pop() {
            for to in next(&node) {
                if seen.insert(to.clone()) {
                    todo.push(to);
                }
            }
        }
        seen
    };
    reached(start)
        .into_iter()
        .filter(|node| reached(node).contains(start))
        .collect()
}

/// A shortest circle from `start` back to it, within `component` (breadth first).
fn circle_through(
    start: &String,
    component: &BTreeSet<String>,
    next: &impl Fn(&String) -> Vec<String>,
) -> Vec<String> {
    let mut came_from: BTreeMap<String, String> = BTreeMap::new();
    let mut frontier = vec![start.clone()];
    while !frontier.is_empty() {
        let mut later = Vec::new();
        for node in frontier {
            for to in next(&node) {
                if &to == start {
                    let mut circle = vec![start.clone(), node.clone()];
                    let mut at = node;
                    while &at != start {
                        at = came_from[&at].clone();
                        circle.push(at.clone());
                    }
                    circle.reverse();
                    return circle;
                }
                if component.contains(&to) && !came_from.contains_key(&to) {
                    came_from.insert(to.clone(), node.clone());
                    later.push(to);
                }
            }
        }
        frontier = later;
    }
    unreachable!("a component of two or more modules has a circle through each of them")
}

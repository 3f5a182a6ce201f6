//! The house rules a reviewer would otherwise count by hand: no source file over about 600
//! lines, no production function over about 80. Files are read as rustfmt lays them out: a
//! function ends at the first `}` at its own indentation; a file's `#[cfg(test)]` module
//! (always last) is test code.

use std::path::{Path, PathBuf};

/// "About 600": a little room so that a file is split when it grows, not at one line over.
const MAX_FILE_LINES: usize = 620;
const MAX_FUNCTION_LINES: usize = 80;

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name == "target" || name == "node_modules" {
            continue;
        }
        if path.is_dir() {
            rust_files(&path, found);
        } else if name.ends_with(".rs") {
            found.push(path);
        }
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `fn` after its qualifiers (`pub`, `pub(crate)`, `async`, `const`, `unsafe`), if the
/// line starts a function.
fn starts_function(line: &str) -> Option<&str> {
    let mut rest = line.trim_start();
    if let Some(after) = rest.strip_prefix("pub") {
        rest = match after.strip_prefix('(') {
            Some(scope) => scope.split_once(')')?.1.trim_start(),
            None => after.strip_prefix(' ')?,
        };
    }
    for qualifier in ["async ", "const ", "unsafe "] {
        rest = rest.strip_prefix(qualifier).unwrap_or(rest);
    }
    let name = rest.strip_prefix("fn ")?;
    Some(name.split(['(', '<']).next().unwrap_or(name))
}

/// The production functions of `text` longer than the limit, as `name (lines)`.
fn long_functions(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let end = lines
        .iter()
        .position(|line| line.trim() == "#[cfg(test)]")
        .unwrap_or(lines.len());
    let mut long = Vec::new();
    for (start, line) in lines[..end].iter().enumerate() {
        let Some(name) = starts_function(line) else {
            continue;
        };
        let indent = &line[..line.len() - line.trim_start().len()];
        let closing = format!("{indent}}}");
        if let Some(offset) = lines[start + 1..end].iter().position(|l| *l == closing) {
            let length = offset + 2;
            if length > MAX_FUNCTION_LINES {
                long.push(format!("{name} ({length} lines)"));
            }
        }
    }
    long
}

#[test]
fn no_source_file_is_over_about_600_lines() {
    let mut files = Vec::new();
    for dir in ["src", "crates", "tests", "bench"] {
        rust_files(&root().join(dir), &mut files);
    }
    assert!(
        files.len() > 100,
        "the walk found the sources: {}",
        files.len()
    );
    let too_long: Vec<String> = files
        .iter()
        .filter_map(|path| {
            let lines = std::fs::read_to_string(path).ok()?.lines().count();
            (lines > MAX_FILE_LINES).then(|| format!("{} ({lines} lines)", path.display()))
        })
        .collect();
    assert!(too_long.is_empty(), "split these files: {too_long:#?}");
}

#[test]
fn no_production_function_is_over_about_80_lines() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    for krate in std::fs::read_dir(root().join("crates")).unwrap().flatten() {
        rust_files(&krate.path().join("src"), &mut files);
    }
    let too_long: Vec<String> = files
        .iter()
        .filter(|path| !path.to_string_lossy().ends_with("tests.rs"))
        .flat_map(|path| {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            long_functions(&text)
                .into_iter()
                .map(move |f| format!("{}: {f}", path.display()))
        })
        .collect();
    assert!(too_long.is_empty(), "split these functions: {too_long:#?}");
}

#[test]
fn the_function_counter_sees_a_long_function_and_ignores_test_code() {
    let body = "    let x = 1;\n".repeat(MAX_FUNCTION_LINES);
    let text = format!(
        "pub(crate) async fn long_one(a: u8) {{\n{body}}}\n\nfn short() {{}}\n\n#[cfg(test)]\nmod tests {{\n    fn long_test() {{\n{body}    }}\n}}\n"
    );
    assert_eq!(
        long_functions(&text),
        vec![format!("long_one ({} lines)", MAX_FUNCTION_LINES + 2)]
    );
    assert_eq!(starts_function("    pub fn x()"), Some("x"));
    assert_eq!(starts_function("    let f = 1;"), None);
}

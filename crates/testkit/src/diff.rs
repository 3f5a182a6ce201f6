//! The files one tree changes against another, as GitHub's pull request files and
//! comparisons list them: sorted by name, each `added`, `modified`, `removed` or `renamed`.

use crate::model::Tree;

/// One changed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange<'a> {
    pub path: &'a str,
    /// The name a renamed file had before (GitHub's `previous_filename`).
    pub previous: Option<&'a str>,
    pub status: &'static str,
    /// The new content, or the removed file's last content.
    pub content: &'a [u8],
}

/// What `new` changes against `old`. A file removed under one name and added under another
/// with the same content is one `renamed` entry under its new name, as Git's rename
/// detection reports an exact rename (GitHub also pairs files that are only similar; the
/// fake's tests never need that).
pub fn changes<'a>(old: &'a Tree, new: &'a Tree) -> Vec<FileChange<'a>> {
    let removed: Vec<(&String, &Vec<u8>)> = old
        .iter()
        .filter(|(path, _)| !new.contains_key(*path))
        .collect();
    let mut renamed_from = vec![false; removed.len()];
    let mut found = Vec::new();
    for (path, content) in new.iter() {
        let (status, previous) = match old.get(path) {
            Some(before) if before == content => continue,
            Some(_) => ("modified", None),
            None => {
                let twin =
                    (0..removed.len()).find(|&i| !renamed_from[i] && removed[i].1 == content);
                match twin {
                    Some(i) => {
                        renamed_from[i] = true;
                        ("renamed", Some(removed[i].0.as_str()))
                    }
                    None => ("added", None),
                }
            }
        };
        found.push(FileChange {
            path,
            previous,
            status,
            content,
        });
    }
    for (i, (path, content)) in removed.into_iter().enumerate() {
        if !renamed_from[i] {
            found.push(FileChange {
                path,
                previous: None,
                status: "removed",
                content,
            });
        }
    }
    found.sort_by(|a, b| a.path.cmp(b.path));
    found
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;

    fn tree(files: &[(&str, &str)]) -> Tree {
        let files: BTreeMap<String, Vec<u8>> = files
            .iter()
            .map(|(path, text)| (path.to_string(), text.as_bytes().to_vec()))
            .collect();
        Arc::new(files)
    }

    #[test]
    fn an_exact_move_is_a_rename_and_the_rest_keep_their_status() {
        let old = tree(&[("a", "same"), ("b", "old"), ("gone", "x"), ("moved", "m")]);
        let new = tree(&[
            ("a", "same"),
            ("b", "new"),
            ("c", "added"),
            ("z/moved", "m"),
        ]);
        let found: Vec<(&str, Option<&str>, &str)> = changes(&old, &new)
            .into_iter()
            .map(|c| (c.path, c.previous, c.status))
            .collect();
        assert_eq!(
            found,
            vec![
                ("b", None, "modified"),
                ("c", None, "added"),
                ("gone", None, "removed"),
                ("z/moved", Some("moved"), "renamed"),
            ]
        );
    }
}

//! A pull request's files and commits as GitHub lists them: both lists stop at a maximum
//! (3,000 files, 250 commits) without saying so, so what they hold is handed out only once
//! checked against the pull request's own counts (`changed_files`, `commits`).

/// GitHub lists at most this many files of a pull request ("List pull request files").
pub const MAX_PR_FILES: u64 = 3000;

/// GitHub lists at most this many commits of a pull request ("List commits on a pull
/// request").
pub const MAX_PR_COMMITS: u64 = 250;

/// One entry of a pull request's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedFile {
    pub path: String,
    /// The name a renamed file had before (GitHub's `previous_filename`).
    pub previous_path: Option<String>,
}

/// A list GitHub may have cut at `most` items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrList<T> {
    items: Vec<T>,
    most: u64,
}

/// A list GitHub cut short: it listed `listed` of `total` items (`None`: the pull request
/// gave no count, and the list reached GitHub's maximum, `most`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut {
    pub listed: u64,
    pub total: Option<u64>,
    pub most: u64,
}

impl Cut {
    /// How many there are, in words: the count, or "more than" the maximum.
    pub fn total_text(&self) -> String {
        match self.total {
            Some(total) => total.to_string(),
            None => format!("at least {}", self.most),
        }
    }
}

impl<T> PrList<T> {
    pub(crate) fn new(items: Vec<T>, most: u64) -> PrList<T> {
        PrList { items, most }
    }

    /// Every item, when the list is whole (see [`PrList::cut`]).
    pub fn whole(self, total: Option<u64>) -> Result<Vec<T>, Cut> {
        match self.cut(total) {
            None => Ok(self.items),
            Some(cut) => Err(cut),
        }
    }

    /// How the list falls short of `total` (the pull request's `changed_files` or
    /// `commits`); with no count to go by, a list that reached GitHub's maximum may miss
    /// items too. A list read after the pull request changed can hold more than `total`:
    /// whoever reads both checks that the head did not move in between.
    pub fn cut(&self, total: Option<u64>) -> Option<Cut> {
        let listed = self.items.len() as u64;
        let whole = match total {
            Some(total) => listed >= total,
            None => listed < self.most,
        };
        (!whole).then_some(Cut {
            listed,
            total,
            most: self.most,
        })
    }

    /// What was listed, whole or not: only for what does not depend on every item (the
    /// wording of a reply).
    pub fn listed(&self) -> &[T] {
        &self.items
    }
}

impl PrList<ChangedFile> {
    /// Every path the pull request changes, when the list is whole (see [`PrList::whole`]):
    /// a renamed file under its new name and its previous one, since moving a file away
    /// removes it where it was (a deployment's variables moved elsewhere are its destroy).
    pub fn paths(self, changed_files: Option<u64>) -> Result<Vec<String>, Cut> {
        let mut paths = Vec::new();
        for file in self.whole(changed_files)? {
            paths.extend(file.previous_path);
            paths.push(file.path);
        }
        Ok(paths)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, previous: Option<&str>) -> ChangedFile {
        ChangedFile {
            path: path.to_owned(),
            previous_path: previous.map(str::to_owned),
        }
    }

    #[test]
    fn a_rename_counts_once_and_names_both_paths() {
        let list = PrList::new(
            vec![
                file("b/terraform.tfvars", Some("a/terraform.tfvars")),
                file("c", None),
            ],
            MAX_PR_FILES,
        );
        assert_eq!(
            list.paths(Some(2)),
            Ok(vec![
                "a/terraform.tfvars".to_owned(),
                "b/terraform.tfvars".to_owned(),
                "c".to_owned()
            ])
        );
    }

    #[test]
    fn a_list_shorter_than_the_count_is_cut() {
        let list = PrList::new(vec![1, 2, 3], 3);
        let cut = list.clone().whole(Some(4)).unwrap_err();
        assert_eq!(
            (cut.listed, cut.total, cut.total_text()),
            (3, Some(4), "4".into())
        );
        assert_eq!(list.clone().whole(Some(3)), Ok(vec![1, 2, 3]));
        // Without a count, a list that reached the maximum may miss items.
        let cut = list.whole(None).unwrap_err();
        assert_eq!(cut.total_text(), "at least 3");
        assert_eq!(PrList::new(vec![1, 2], 3).whole(None), Ok(vec![1, 2]));
    }
}

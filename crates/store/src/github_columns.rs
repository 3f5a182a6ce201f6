//! GitHub's names as the columns hold them: a repository as its `owner/name` text, an
//! issue or pull request number as a signed integer, a commit as its 40 hex digits. The
//! store takes and returns the typed names; this is the one place they become column
//! values and back. A value that does not read back (a row edited by hand, or written by
//! something else) is a [`StoreError::Corrupt`] naming the table, column and value.

use promptops_core::{CommitSha, IssueNumber, PrNumber, RepoName};

use crate::error::{Result, StoreError};

/// GitHub issue/PR numbers are positive and far below i64::MAX; the columns are signed.
pub(crate) fn to_db(field: &'static str, number: u64) -> Result<i64> {
    i64::try_from(number).map_err(|_| StoreError::OutOfRange {
        field,
        value: number.to_string(),
        allowed: "at most 9223372036854775807",
    })
}

pub(crate) fn from_db(field: &'static str, number: i64) -> Result<u64> {
    u64::try_from(number).map_err(|_| StoreError::Corrupt {
        field,
        value: number.to_string(),
        expected: "a non-negative issue or pull request number",
    })
}

pub(crate) fn issue_to_db(issue: IssueNumber) -> Result<i64> {
    to_db("issue", issue.get())
}

pub(crate) fn pr_to_db(pr: PrNumber) -> Result<i64> {
    to_db("pr", pr.get())
}

pub(crate) fn issue_from_db(field: &'static str, number: i64) -> Result<IssueNumber> {
    from_db(field, number).map(IssueNumber::new)
}

pub(crate) fn pr_from_db(field: &'static str, number: i64) -> Result<PrNumber> {
    from_db(field, number).map(PrNumber::new)
}

pub(crate) fn repo_from_db(field: &'static str, full_name: String) -> Result<RepoName> {
    full_name.parse().map_err(|_| StoreError::Corrupt {
        field,
        value: full_name,
        expected: "a repository name, `owner/name`",
    })
}

pub(crate) fn sha_from_db(field: &'static str, sha: String) -> Result<CommitSha> {
    CommitSha::try_from(sha).map_err(|bad| StoreError::Corrupt {
        field,
        value: bad.given,
        expected: "a commit SHA of 40 lowercase hex digits",
    })
}

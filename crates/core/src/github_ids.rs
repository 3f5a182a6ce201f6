//! The names GitHub gives a repository, a conversation and a commit, as types: a value of
//! one of these was checked once, where it entered, and cannot be mixed up with another
//! number or string on its way through the service.
//!
//! Their serde forms are today's wire forms (a repository as `"owner/name"`, numbers as
//! plain numbers, a SHA as its 40 digits), so jobs queued and rows stored before these
//! types existed read back unchanged.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::github::LOGIN_MAX_CHARS;

/// GitHub's longest repository name.
pub const REPO_NAME_MAX_CHARS: usize = 100;

/// A repository, `owner/name`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RepoName {
    owner: String,
    name: String,
}

/// Why a text is not a repository name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RepoNameError {
    #[error("{given:?} is not a repository name: expected `owner/name`")]
    NoSlash { given: String },
    #[error(
        "{owner:?} is not a GitHub account name: expected 1 to {LOGIN_MAX_CHARS} letters, digits, `-` or `_`"
    )]
    Owner { owner: String },
    #[error(
        "{name:?} is not a GitHub repository name: expected 1 to {REPO_NAME_MAX_CHARS} letters, digits, `-`, `_` or `.` (not `.` or `..`)"
    )]
    Name { name: String },
}

impl RepoName {
    /// The repository `name` of account `owner`, when both are names GitHub allows.
    pub fn new(owner: impl Into<String>, name: impl Into<String>) -> Result<Self, RepoNameError> {
        let (owner, name) = (owner.into(), name.into());
        // `_` is not in personal logins, but in the accounts of enterprise-managed users.
        let owner_ok = !owner.is_empty()
            && owner.len() <= LOGIN_MAX_CHARS
            && owner
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !owner_ok {
            return Err(RepoNameError::Owner { owner });
        }
        let name_ok = !name.is_empty()
            && name.len() <= REPO_NAME_MAX_CHARS
            && name != "."
            && name != ".."
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !name_ok {
            return Err(RepoNameError::Name { name });
        }
        Ok(Self { owner, name })
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for RepoName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

impl FromStr for RepoName {
    type Err = RepoNameError;

    fn from_str(full_name: &str) -> Result<Self, Self::Err> {
        let (owner, name) = full_name
            .split_once('/')
            .ok_or_else(|| RepoNameError::NoSlash {
                given: full_name.to_owned(),
            })?;
        Self::new(owner, name)
    }
}

impl TryFrom<String> for RepoName {
    type Error = RepoNameError;

    fn try_from(full_name: String) -> Result<Self, Self::Error> {
        full_name.parse()
    }
}

impl From<RepoName> for String {
    fn from(repo: RepoName) -> String {
        repo.to_string()
    }
}

/// The number of an issue or a pull request: GitHub numbers both from one sequence per
/// repository, and every pull request is also an issue (comments, labels and closing go
/// through the issue API with the pull request's number). So the comment functions take an
/// [`IssueNumber`], which any [`PrNumber`] converts into; a number becomes a [`PrNumber`]
/// only where it is known to name a pull request (GitHub said so, or it came from a pull
/// request event), because the pull request API refuses the number of a plain issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IssueNumber(u64);

/// The number of a pull request; see [`IssueNumber`] for why there are two types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PrNumber(u64);

macro_rules! conversation_number {
    ($type:ident) => {
        impl $type {
            /// The only way in from a bare number, so that each one is converted where
            /// it is known what it numbers (there is deliberately no `From<u64>`).
            pub const fn new(number: u64) -> Self {
                Self(number)
            }

            pub const fn get(self) -> u64 {
                self.0
            }
        }

        /// The bare number: messages write `#{number}` themselves.
        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

conversation_number!(IssueNumber);
conversation_number!(PrNumber);

impl From<PrNumber> for IssueNumber {
    fn from(pr: PrNumber) -> Self {
        Self(pr.0)
    }
}

impl IssueNumber {
    /// This conversation's number as a pull request's, once it is known to be one.
    pub const fn as_pr(self) -> PrNumber {
        PrNumber(self.0)
    }
}

/// A full commit SHA: 40 lowercase hex digits (a prefix typed by a user is
/// `promptops_commands::ShaPrefix`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CommitSha(String);

/// The length of a full SHA-1 commit id.
pub const COMMIT_SHA_CHARS: usize = 40;

/// How many digits name a commit in messages.
const SHORT_SHA_CHARS: usize = 12;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{given:?} is not a commit SHA: expected {COMMIT_SHA_CHARS} lowercase hex digits")]
pub struct CommitShaError {
    pub given: String,
}

impl CommitSha {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first digits, for messages.
    pub fn short(&self) -> &str {
        &self.0[..SHORT_SHA_CHARS]
    }
}

impl fmt::Display for CommitSha {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for CommitSha {
    type Err = CommitShaError;

    fn from_str(sha: &str) -> Result<Self, Self::Err> {
        Self::try_from(sha.to_owned())
    }
}

impl TryFrom<String> for CommitSha {
    type Error = CommitShaError;

    fn try_from(sha: String) -> Result<Self, Self::Error> {
        let valid = sha.len() == COMMIT_SHA_CHARS
            && sha
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, 'a'..='f'));
        if valid {
            Ok(Self(sha))
        } else {
            Err(CommitShaError { given: sha })
        }
    }
}

impl From<CommitSha> for String {
    fn from(sha: CommitSha) -> String {
        sha.0
    }
}

impl AsRef<str> for CommitSha {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Compares with a SHA as text (as GitHub and the store give it).
impl PartialEq<str> for CommitSha {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for CommitSha {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for CommitSha {
    fn eq(&self, other: &String) -> bool {
        self.0 == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn a_repository_name_is_parsed_checked_and_shown_as_owner_slash_name() {
        let repo: RepoName = "octo-org/gpu_vms.infra".parse().unwrap();
        assert_eq!((repo.owner(), repo.name()), ("octo-org", "gpu_vms.infra"));
        assert_eq!(repo.to_string(), "octo-org/gpu_vms.infra");
        assert!(matches!(
            "octo".parse::<RepoName>(),
            Err(RepoNameError::NoSlash { .. })
        ));
        for bad_owner in ["", "a b", &"o".repeat(LOGIN_MAX_CHARS + 1), "o/x"] {
            assert!(
                matches!(
                    RepoName::new(bad_owner, "r"),
                    Err(RepoNameError::Owner { .. })
                ),
                "{bad_owner:?}"
            );
        }
        for bad_name in [
            "",
            ".",
            "..",
            "a/b",
            "r\n",
            &"r".repeat(REPO_NAME_MAX_CHARS + 1),
        ] {
            assert!(
                matches!(
                    RepoName::new("o", bad_name),
                    Err(RepoNameError::Name { .. })
                ),
                "{bad_name:?}"
            );
        }
        let err = "o/a b".parse::<RepoName>().unwrap_err().to_string();
        assert!(
            err.contains("\"a b\" is not a GitHub repository name"),
            "{err}"
        );
    }

    #[test]
    fn a_repository_name_travels_as_the_full_name_string() {
        let repo = RepoName::new("octo", "infra").unwrap();
        assert_eq!(serde_json::to_string(&repo).unwrap(), r#""octo/infra""#);
        let back: RepoName = serde_json::from_str(r#""octo/infra""#).unwrap();
        assert_eq!(back, repo);
        assert!(serde_json::from_str::<RepoName>(r#""octo""#).is_err());
    }

    // A bare number does not turn into an issue or pull request number by `into()`: each
    // one is made with `new` where it is known what it numbers. A pull request number is
    // an issue number (the issue API takes it).
    static_assertions::assert_not_impl_any!(IssueNumber: From<u64>);
    static_assertions::assert_not_impl_any!(PrNumber: From<u64>, From<IssueNumber>);
    static_assertions::assert_impl_all!(IssueNumber: From<PrNumber>);

    #[test]
    fn numbers_travel_as_plain_numbers_and_a_pr_is_an_issue() {
        let pr = PrNumber::new(7);
        assert_eq!(serde_json::to_string(&pr).unwrap(), "7");
        assert_eq!(serde_json::from_str::<IssueNumber>("7").unwrap(), pr.into());
        assert_eq!(format!("#{pr}"), "#7");
        assert_eq!(IssueNumber::new(7).as_pr(), pr);
    }

    #[test]
    fn a_commit_sha_is_forty_lowercase_hex_digits() {
        let sha: CommitSha = SHA.parse().unwrap();
        assert_eq!(sha.short(), "0123456789ab");
        assert_eq!(serde_json::to_string(&sha).unwrap(), format!("\"{SHA}\""));
        let upper = SHA.to_ascii_uppercase();
        for bad in [
            &SHA[..39],
            &format!("{SHA}0"),
            &upper,
            &SHA.replace('a', "g"),
            "",
        ] {
            let err = bad.parse::<CommitSha>().unwrap_err();
            assert!(err.to_string().contains("is not a commit SHA"), "{err}");
        }
        assert!(serde_json::from_str::<CommitSha>("\"abc\"").is_err());
    }
}

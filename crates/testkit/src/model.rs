//! The fake's in-memory world: repositories with commit history, issues and pull requests,
//! comments, check runs, installations and the tokens minted for them.
//!
//! Everything lives in one `State` behind a mutex; handlers and the test-facing API both go
//! through it, so what a test inspects is exactly what the HTTP side saw.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::fault::Fault;

/// Files of one commit: path → bytes. Shared between commits that did not change them.
pub type Tree = Arc<BTreeMap<String, Vec<u8>>>;

/// One commit. Every write through the API or the setup API creates one.
#[derive(Debug, Clone)]
pub struct Commit {
    pub sha: String,
    pub parents: Vec<String>,
    pub message: String,
    pub files: Tree,
    pub date: DateTime<Utc>,
    /// The GitHub login the commit's author email belongs to; `None` when it belongs to no
    /// account (GitHub then answers `"author": null`).
    pub author: Option<String>,
    /// The same for the committer.
    pub committer: Option<String>,
}

/// A pull request as the fake stores it (the issue part lives in [`Issue`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullData {
    pub head_ref: String,
    pub head_sha: String,
    /// `owner/name` of the head repository; differs from the base repo for forks.
    pub head_repo: String,
    pub base_ref: String,
    pub merged: bool,
    pub merge_commit_sha: Option<String>,
    /// Who merged it (`merged_by`): a person, the App (`<slug>[bot]`) or none for a merge
    /// queue's merge.
    pub merged_by: Option<String>,
    pub draft: bool,
}

/// An issue or a pull request (they share one number space, as on GitHub).
#[derive(Debug, Clone)]
pub struct Issue {
    pub id: u64,
    pub number: u64,
    pub title: String,
    pub body: Option<String>,
    pub author: String,
    pub open: bool,
    pub labels: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub pull: Option<PullData>,
}

/// A repository with its branches and full commit history.
#[derive(Debug, Clone)]
pub struct Repo {
    pub id: u64,
    pub owner: String,
    pub name: String,
    pub default_branch: String,
    pub branches: BTreeMap<String, String>,
    pub commits: HashMap<String, Commit>,
    /// Every tree a commit has or the Git Data API created, by [`tree_sha`].
    pub trees: HashMap<String, Tree>,
    pub issues: BTreeMap<u64, Issue>,
    pub next_number: u64,
    /// lower-cased login → role name ("admin", "maintain", "write", "triage", "read").
    pub permissions: HashMap<String, String>,
}

impl Repo {
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }

    pub fn branch_files(&self, branch: &str) -> Option<&Tree> {
        let sha = self.branches.get(branch)?;
        self.commits.get(sha).map(|c| &c.files)
    }

    /// Resolves a branch name, a full commit SHA or a unique SHA prefix (>= 7) to a commit.
    pub fn resolve(&self, git_ref: &str) -> Option<&Commit> {
        let name = git_ref
            .strip_prefix("refs/heads/")
            .or_else(|| git_ref.strip_prefix("heads/"))
            .unwrap_or(git_ref);
        if let Some(sha) = self.branches.get(name) {
            return self.commits.get(sha);
        }
        if let Some(c) = self.commits.get(git_ref) {
            return Some(c);
        }
        if git_ref.len() >= 7 && git_ref.chars().all(|c| c.is_ascii_hexdigit()) {
            let mut found = self.commits.values().filter(|c| c.sha.starts_with(git_ref));
            let first = found.next();
            if found.next().is_none() {
                return first;
            }
        }
        None
    }

    /// Whether `ancestor` is reachable from `descendant` (inclusive).
    pub fn is_ancestor(&self, ancestor: &str, descendant: &str) -> bool {
        self.ancestors(descendant).contains(ancestor)
    }

    pub(crate) fn ancestors(&self, sha: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![sha.to_string()];
        while let Some(s) = todo.pop() {
            if seen.insert(s.clone())
                && let Some(c) = self.commits.get(&s)
            {
                todo.extend(c.parents.iter().cloned());
            }
        }
        seen
    }

    /// The nearest common ancestor along `head`'s first-parent chain.
    pub fn merge_base(&self, base: &str, head: &str) -> Option<String> {
        let base_ancestors = self.ancestors(base);
        let mut cur = Some(head.to_string());
        while let Some(sha) = cur {
            if base_ancestors.contains(&sha) {
                return Some(sha);
            }
            cur = self
                .commits
                .get(&sha)
                .and_then(|c| c.parents.first().cloned());
        }
        None
    }
}

/// A token minted by `POST /app/installations/{id}/access_tokens`.
#[derive(Debug, Clone)]
pub struct TokenGrant {
    pub installation_id: u64,
    pub expires_at: DateTime<Utc>,
}

/// A reaction to an issue or pull-request comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reaction {
    pub id: u64,
    /// `owner/name`.
    pub repo: String,
    /// The issue or pull-request comment reacted to.
    pub comment_id: u64,
    /// `eyes`, `+1`, ...
    pub content: String,
    pub user: String,
    pub created_at: DateTime<Utc>,
}

/// An issue or pull-request comment, as tests inspect it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub id: u64,
    /// `owner/name`.
    pub repo: String,
    pub issue: u64,
    pub body: String,
    pub author: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A check run, as tests inspect it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRun {
    pub id: u64,
    /// `owner/name`.
    pub repo: String,
    pub name: String,
    pub head_sha: String,
    /// "queued" | "in_progress" | "completed".
    pub status: String,
    pub conclusion: Option<String>,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub text: Option<String>,
    pub details_url: Option<String>,
    pub external_id: Option<String>,
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
    /// How many times it was updated with PATCH.
    pub updates: u32,
    /// The buttons (`actions`) it carries, as last set.
    pub actions: Vec<CheckRunAction>,
}

/// A button on a check run (GitHub's `actions` item).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CheckRunAction {
    pub label: String,
    pub description: String,
    pub identifier: String,
}

/// How a request authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthKind {
    None,
    /// A valid App JWT.
    AppJwt,
    /// A valid installation token for this installation.
    Installation(u64),
    /// Something was presented but rejected.
    Rejected,
}

/// One request the fake answered.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    /// When the request arrived (monotonic).
    pub at: Instant,
    /// Time since the fake started.
    pub since_start: Duration,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub status: u16,
    /// Set when the answer came from an injected fault.
    pub injected: bool,
}

/// The whole world.
pub struct State {
    pub app_id: u64,
    pub app_slug: String,
    pub base_url: String,
    pub started: Instant,
    pub repos: BTreeMap<String, Repo>,
    /// installation id → account login (owner of the repos it may reach).
    pub installations: BTreeMap<u64, String>,
    pub tokens: HashMap<String, TokenGrant>,
    pub token_ttl: chrono::Duration,
    pub token_requests: usize,
    pub comments: Vec<Comment>,
    pub reactions: Vec<Reaction>,
    pub check_runs: Vec<CheckRun>,
    pub faults: Vec<Fault>,
    /// Actions to run just before the next matching request is handled.
    pub hooks: Vec<crate::fault::Hook>,
    pub log: Vec<RequestRecord>,
    /// How many requests have been answered: a waiter is woken by each one instead of
    /// polling the state (which takes CPU from the process under measurement).
    pub answered: tokio::sync::watch::Sender<u64>,
    /// A network round trip every request pays, half before it is handled and half after
    /// (zero unless a benchmark sets one: GitHub's API is tens of milliseconds away).
    pub round_trip: std::time::Duration,
    pub auth_log: Vec<AuthKind>,
    /// The key pair App JWTs are verified against (replaced when the manifest flow creates an App).
    pub app_private_key_pem: &'static str,
    pub app_public_key_pem: &'static str,
    pub manifests: crate::routes::app_manifests::Manifests,
    /// OAuth sign-in: client credentials, consent, codes, user tokens, installation members.
    pub oauth: crate::routes::oauth::OAuthWorld,
    /// Whom the test helpers' commits (`set_file`, `commit_files`) are attributed to.
    pub commit_author: Option<String>,
    /// The events the App subscribes to, as `GET /app` lists them.
    pub app_events: Vec<String>,
    next_id: u64,
    sha_counter: u64,
}

impl State {
    pub fn new(app_id: u64, base_url: String) -> State {
        State {
            app_id,
            app_slug: "promptops".to_string(),
            base_url,
            started: Instant::now(),
            repos: BTreeMap::new(),
            installations: BTreeMap::new(),
            tokens: HashMap::new(),
            token_ttl: chrono::Duration::hours(1),
            token_requests: 0,
            comments: Vec::new(),
            reactions: Vec::new(),
            check_runs: Vec::new(),
            faults: Vec::new(),
            hooks: Vec::new(),
            log: Vec::new(),
            answered: tokio::sync::watch::Sender::new(0),
            round_trip: std::time::Duration::ZERO,
            auth_log: Vec::new(),
            app_private_key_pem: crate::keys::APP_PRIVATE_KEY_PEM,
            app_public_key_pem: crate::keys::APP_PUBLIC_KEY_PEM,
            manifests: Default::default(),
            oauth: Default::default(),
            commit_author: None,
            // An App registered before PromptOps handled merge queues and check-run buttons.
            app_events: ["issue_comment", "issues", "pull_request"]
                .map(str::to_owned)
                .to_vec(),
            next_id: 1000,
            sha_counter: 0,
        }
    }

    /// The login the App acts as when it writes with an installation token.
    pub fn bot_login(&self) -> String {
        format!("{}[bot]", self.app_slug)
    }

    /// A fresh id, unique across every kind of object.
    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// A fresh 40-hex-digit identifier derived from `seed` and a counter.
    pub fn fresh_sha(&mut self, seed: &str) -> String {
        self.sha_counter += 1;
        let digest = Sha256::digest(format!("{}\0{seed}", self.sha_counter));
        hex::encode(digest)[..40].to_string()
    }

    pub fn repo(&self, owner: &str, name: &str) -> Option<&Repo> {
        self.repos.get(&repo_key(owner, name))
    }

    pub fn repo_mut(&mut self, owner: &str, name: &str) -> Option<&mut Repo> {
        self.repos.get_mut(&repo_key(owner, name))
    }

    pub fn repo_by_full_name(&self, full: &str) -> Option<&Repo> {
        let (o, n) = split_full_name(full);
        self.repo(o, n)
    }

    pub fn repo_by_full_name_mut(&mut self, full: &str) -> Option<&mut Repo> {
        let (o, n) = split_full_name(full);
        self.repo_mut(o, n)
    }

    /// Creates a commit on top of `parent` whose tree is `files`; returns its SHA.
    /// Does not move any branch.
    pub fn commit(
        &mut self,
        full: &str,
        parents: Vec<String>,
        files: Tree,
        message: &str,
    ) -> String {
        let sha = self.fresh_sha(&format!("{full}\0{message}"));
        let author = self.commit_author.clone();
        let repo = self
            .repo_by_full_name_mut(full)
            .expect("commit on a repository that exists");
        repo.trees.insert(tree_sha(&files), Arc::clone(&files));
        repo.commits.insert(
            sha.clone(),
            Commit {
                sha: sha.clone(),
                parents,
                message: message.to_string(),
                files,
                date: Utc::now(),
                author: author.clone(),
                committer: author,
            },
        );
        sha
    }

    /// Attributes commit `sha` of `full` to `login` as author and committer.
    pub fn attribute_commit(&mut self, full: &str, sha: &str, login: Option<&str>) {
        let commit = self
            .repo_by_full_name_mut(full)
            .and_then(|repo| repo.commits.get_mut(sha))
            .expect("attributing a commit that exists");
        commit.author = login.map(str::to_owned);
        commit.committer = login.map(str::to_owned);
    }

    /// The commits of `head` (in repository `head_repo`, a fork or the same) that `base`
    /// (in `base_repo`) does not have, oldest first: what a pull request lists.
    pub fn commits_between(
        &self,
        base_repo: &str,
        base: &str,
        head_repo: &str,
        head: &str,
    ) -> Vec<Commit> {
        let (Some(base_repo), Some(head_repo)) = (
            self.repo_by_full_name(base_repo),
            self.repo_by_full_name(head_repo),
        ) else {
            return Vec::new();
        };
        let on_base = base_repo.ancestors(base);
        let mut left: Vec<Commit> = head_repo
            .ancestors(head)
            .into_iter()
            .filter(|sha| !on_base.contains(sha))
            .filter_map(|sha| head_repo.commits.get(&sha).cloned())
            .collect();
        left.sort_by(|a, b| a.date.cmp(&b.date).then_with(|| a.sha.cmp(&b.sha)));
        // Oldest first, and never a commit before its parents (commits made in one tick
        // share a date): each round takes the oldest commit whose parents are listed.
        let mut pending: BTreeSet<String> = left.iter().map(|c| c.sha.clone()).collect();
        let mut found: Vec<Commit> = Vec::with_capacity(left.len());
        while !left.is_empty() {
            let ready = left
                .iter()
                .position(|c| c.parents.iter().all(|p| !pending.contains(p)))
                .unwrap_or(0);
            let commit = left.remove(ready);
            pending.remove(&commit.sha);
            found.push(commit);
        }
        found
    }

    /// Points `branch` at `sha` and moves the head of open pull requests from that branch,
    /// as a push does on GitHub.
    pub fn set_branch_head(&mut self, full: &str, branch: &str, sha: &str) {
        let now = Utc::now();
        let repo = self
            .repo_by_full_name_mut(full)
            .expect("branch of a repository that exists");
        repo.branches.insert(branch.to_string(), sha.to_string());
        let repo_full = repo.full_name();
        for repo in self.repos.values_mut() {
            for issue in repo.issues.values_mut() {
                if let Some(pull) = issue.pull.as_mut()
                    && issue.open
                    && pull.head_ref == branch
                    && pull.head_repo.eq_ignore_ascii_case(&repo_full)
                {
                    pull.head_sha = sha.to_string();
                    issue.updated_at = now;
                }
            }
        }
    }

    /// Commits `change` (path → new content, `None` deletes) on `branch`; returns the SHA.
    /// The branch must exist.
    pub fn commit_on_branch(
        &mut self,
        full: &str,
        branch: &str,
        change: &[(String, Option<Vec<u8>>)],
        message: &str,
    ) -> String {
        let repo = self
            .repo_by_full_name(full)
            .expect("repository exists for commit_on_branch");
        let parent = repo.branches.get(branch).cloned().expect("branch exists");
        let mut files = (*repo.commits[&parent].files).clone();
        for (path, content) in change {
            match content {
                Some(bytes) => {
                    files.insert(path.clone(), bytes.clone());
                }
                None => {
                    files.remove(path);
                }
            }
        }
        let sha = self.commit(full, vec![parent], Arc::new(files), message);
        self.set_branch_head(full, branch, &sha);
        sha
    }

    /// Whether `token` is a live installation token that may reach `owner`'s repositories.
    pub fn check_token(&self, token: &str) -> Result<u64, &'static str> {
        let grant = self.tokens.get(token).ok_or("Bad credentials")?;
        if grant.expires_at <= Utc::now() {
            return Err("Bad credentials");
        }
        Ok(grant.installation_id)
    }

    pub fn installation_reaches(&self, installation_id: u64, owner: &str) -> bool {
        self.installations
            .get(&installation_id)
            .is_some_and(|account| account.eq_ignore_ascii_case(owner))
    }
}

pub fn repo_key(owner: &str, name: &str) -> String {
    format!(
        "{}/{}",
        owner.to_ascii_lowercase(),
        name.to_ascii_lowercase()
    )
}

pub fn split_full_name(full: &str) -> (&str, &str) {
    full.split_once('/')
        .unwrap_or_else(|| panic!("repository name {full:?} must be \"owner/name\""))
}

/// The identifier of a tree (stable for equal files), as a commit's `tree.sha` shows it.
pub fn tree_sha(files: &BTreeMap<String, Vec<u8>>) -> String {
    let mut h = Sha256::new();
    h.update(b"tree\0");
    for (path, content) in files {
        h.update(path.as_bytes());
        h.update(b"\0");
        h.update(blob_sha(content).as_bytes());
    }
    hex::encode(h.finalize())[..40].to_string()
}

/// The blob identifier the contents API reports for a file (stable for equal content).
pub fn blob_sha(content: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(format!("blob {}\0", content.len()));
    h.update(content);
    hex::encode(h.finalize())[..40].to_string()
}

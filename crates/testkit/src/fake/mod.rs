//! `FakeGithub`: starts the fake API on a loopback port and gives tests its setup,
//! inspection and fault-injection handles.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::oneshot;

use crate::fault::{Shared, lock};
use crate::model::{
    self, AuthKind, CheckRun, Comment, Issue, Repo, RequestRecord, split_full_name,
};
use crate::routes::app_manifests::{self, CreatedApp, RegisteredManifest};
use crate::routes::{git, pulls};
use crate::snapshot::{IssueInfo, PullRequest};

/// The App id the fake knows when none is given.
pub const DEFAULT_APP_ID: u64 = 424_242;

/// Roles `set_permission` accepts, as GitHub names them.
pub const ROLES: &[&str] = &["admin", "maintain", "write", "triage", "read", "none"];

/// A running fake GitHub REST API. Stops when dropped.
///
/// Repositories are named `"owner/name"` everywhere. Writes made through the API with an
/// installation token are authored by [`FakeGithub::bot_login`].
pub struct FakeGithub {
    state: Shared,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Drop for FakeGithub {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl FakeGithub {
    /// Starts the fake on `127.0.0.1:0` with App id [`DEFAULT_APP_ID`].
    pub async fn start() -> FakeGithub {
        Self::start_with_app_id(DEFAULT_APP_ID).await
    }

    pub async fn start_with_app_id(app_id: u64) -> FakeGithub {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("fake GitHub: bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("fake GitHub: local address");
        let state = Arc::new(Mutex::new(model::State::new(
            app_id,
            format!("http://{addr}"),
        )));
        let app = crate::server::router(state.clone());
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        FakeGithub {
            state,
            addr,
            shutdown: Some(tx),
        }
    }

    /// Base URL for `GITHUB_API_URL`, e.g. `http://127.0.0.1:41234` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn app_id(&self) -> u64 {
        lock(&self.state).app_id
    }

    /// The App private key (PKCS#1 PEM) whose public half the fake verifies JWTs against
    /// (the manifest flow's key once a conversion created a new App).
    pub fn private_key_pem(&self) -> &'static str {
        lock(&self.state).app_private_key_pem
    }

    // ----- the App manifest flow ---------------------------------------------------------

    /// What GitHub does when a person confirms a posted manifest: records it and returns
    /// the one-time code that `POST /app-manifests/{code}/conversions` exchanges. Panics
    /// when GitHub would refuse the manifest (a required field missing, a bad permission
    /// level), naming the problem.
    pub fn register_manifest(&self, manifest: &serde_json::Value) -> String {
        if let Err(message) = app_manifests::validate_manifest(manifest) {
            panic!("fake GitHub refuses the manifest: {message}");
        }
        app_manifests::register(&mut lock(&self.state), manifest.clone(), None, None)
    }

    /// Every manifest posted or registered, in code order, with whether it was exchanged.
    pub fn registered_manifests(&self) -> Vec<RegisteredManifest> {
        lock(&self.state)
            .manifests
            .registered
            .values()
            .cloned()
            .collect()
    }

    /// The Apps created by conversions, oldest first.
    pub fn created_apps(&self) -> Vec<CreatedApp> {
        lock(&self.state).manifests.created.clone()
    }

    /// The login the App's writes appear under, e.g. `promptops[bot]`.
    pub fn bot_login(&self) -> String {
        lock(&self.state).bot_login()
    }

    /// Changes the App's slug (and so [`FakeGithub::bot_login`]).
    pub fn set_app_slug(&self, slug: &str) {
        lock(&self.state).app_slug = slug.to_string();
    }

    /// `GITHUB_API_URL`, `GITHUB_APP_ID` and `GITHUB_PRIVATE_KEY` for a process under test.
    pub fn env_vars(&self) -> Vec<(String, String)> {
        vec![
            ("GITHUB_API_URL".to_string(), self.url()),
            ("GITHUB_APP_ID".to_string(), self.app_id().to_string()),
            (
                "GITHUB_PRIVATE_KEY".to_string(),
                self.private_key_pem().to_string(),
            ),
        ]
    }

    /// Polls the fake's state until `check` returns `Some` (every 20 ms), for effects of
    /// asynchronous work such as webhook-triggered jobs. Panics after `timeout` naming `what`
    /// and listing the last requests the fake answered.
    pub async fn wait_for<T>(
        &self,
        what: &str,
        timeout: Duration,
        check: impl Fn(&FakeGithub) -> Option<T>,
    ) -> T {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(v) = check(self) {
                return v;
            }
            if tokio::time::Instant::now() >= deadline {
                let log = self.requests();
                let tail: Vec<String> = log
                    .iter()
                    .rev()
                    .take(15)
                    .rev()
                    .map(|r| {
                        format!(
                            "  {} {} -> {}{}",
                            r.method,
                            r.path,
                            r.status,
                            if r.injected { " (injected)" } else { "" }
                        )
                    })
                    .collect();
                panic!(
                    "fake GitHub: gave up after {timeout:?} waiting for {what}; last requests:\n{}",
                    tail.join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    // ----- setup -----------------------------------------------------------------------

    /// Adds a repository with default branch `main` holding one empty initial commit.
    pub fn add_repo(&self, repo: &str) {
        self.add_repo_with_default_branch(repo, "main");
    }

    pub fn add_repo_with_default_branch(&self, repo: &str, default_branch: &str) {
        let (owner, name) = split_full_name(repo);
        let mut st = lock(&self.state);
        let key = model::repo_key(owner, name);
        assert!(
            !st.repos.contains_key(&key),
            "fake GitHub: repository {repo} already exists"
        );
        let id = st.next_id();
        st.repos.insert(
            key,
            Repo {
                id,
                owner: owner.to_string(),
                name: name.to_string(),
                default_branch: default_branch.to_string(),
                branches: BTreeMap::new(),
                commits: Default::default(),
                trees: Default::default(),
                issues: BTreeMap::new(),
                next_number: 1,
                permissions: Default::default(),
            },
        );
        let sha = st.commit(repo, Vec::new(), Arc::default(), "Initial commit");
        st.set_branch_head(repo, default_branch, &sha);
    }

    /// Lets installation `id` reach every repository owned by `account`.
    pub fn add_installation(&self, id: u64, account: &str) {
        lock(&self.state)
            .installations
            .insert(id, account.to_string());
    }

    /// Commits `content` at `path` on `branch` (created from the default branch if missing).
    /// Returns the new commit SHA.
    pub fn set_file(
        &self,
        repo: &str,
        branch: &str,
        path: &str,
        content: impl AsRef<[u8]>,
    ) -> String {
        self.commit_files(
            repo,
            branch,
            &[(path, Some(content.as_ref()))],
            &format!("Update {path}"),
        )
    }

    /// Removes `path` from `branch` in a new commit; returns its SHA.
    pub fn remove_file(&self, repo: &str, branch: &str, path: &str) -> String {
        self.commit_files(repo, branch, &[(path, None)], &format!("Delete {path}"))
    }

    /// One commit changing several files (`None` deletes); returns its SHA.
    pub fn commit_files(
        &self,
        repo: &str,
        branch: &str,
        files: &[(&str, Option<&[u8]>)],
        message: &str,
    ) -> String {
        self.ensure_branch(repo, branch);
        let change: Vec<(String, Option<Vec<u8>>)> = files
            .iter()
            .map(|(p, c)| (p.to_string(), c.map(<[u8]>::to_vec)))
            .collect();
        lock(&self.state).commit_on_branch(repo, branch, &change, message)
    }

    /// One commit by `login` (author and committer; `None`: an email that belongs to no
    /// GitHub account) changing several files; returns its SHA.
    pub fn commit_files_as(
        &self,
        repo: &str,
        branch: &str,
        files: &[(&str, Option<&[u8]>)],
        message: &str,
        login: Option<&str>,
    ) -> String {
        let sha = self.commit_files(repo, branch, files, message);
        lock(&self.state).attribute_commit(repo, &sha, login);
        sha
    }

    /// Whom later commits of the test helpers (`set_file`, `commit_files`) are attributed
    /// to; `None` (the start): an email that belongs to no GitHub account.
    pub fn set_commit_author(&self, login: Option<&str>) {
        lock(&self.state).commit_author = login.map(str::to_owned);
    }

    /// Creates `branch` at the default branch's head if it does not exist; returns its head.
    pub fn ensure_branch(&self, repo: &str, branch: &str) -> String {
        let mut st = lock(&self.state);
        let r = st
            .repo_by_full_name(repo)
            .unwrap_or_else(|| panic!("fake GitHub: no repository {repo}; call add_repo first"));
        if let Some(sha) = r.branches.get(branch) {
            return sha.clone();
        }
        let sha = r.branches[&r.default_branch].clone();
        st.set_branch_head(repo, branch, &sha);
        sha
    }

    /// Sets `user`'s role: one of [`ROLES`].
    pub fn set_permission(&self, repo: &str, user: &str, role: &str) {
        assert!(
            ROLES.contains(&role),
            "fake GitHub: role {role:?} is not one of {ROLES:?}"
        );
        let mut st = lock(&self.state);
        let r = st
            .repo_by_full_name_mut(repo)
            .unwrap_or_else(|| panic!("fake GitHub: no repository {repo}"));
        r.permissions
            .insert(user.to_ascii_lowercase(), role.to_string());
    }

    /// Opens an issue; returns its number.
    pub fn add_issue(&self, repo: &str, author: &str, title: &str, body: &str) -> u64 {
        self.add_issue_with_labels(repo, author, title, body, &[])
    }

    pub fn add_issue_with_labels(
        &self,
        repo: &str,
        author: &str,
        title: &str,
        body: &str,
        labels: &[&str],
    ) -> u64 {
        let mut st = lock(&self.state);
        let id = st.next_id();
        let r = st
            .repo_by_full_name_mut(repo)
            .unwrap_or_else(|| panic!("fake GitHub: no repository {repo}"));
        let number = r.next_number;
        r.next_number += 1;
        let now = Utc::now();
        r.issues.insert(
            number,
            Issue {
                id,
                number,
                title: title.to_string(),
                body: Some(body.to_string()),
                author: author.to_string(),
                open: true,
                labels: labels.iter().map(|l| l.to_string()).collect(),
                created_at: now,
                updated_at: now,
                pull: None,
            },
        );
        number
    }

    /// Adds a comment by `author` (a person, or anyone) on an issue or PR; returns its id.
    pub fn add_comment(&self, repo: &str, issue: u64, author: &str, body: &str) -> u64 {
        let mut st = lock(&self.state);
        let full = st
            .repo_by_full_name(repo)
            .filter(|r| r.issues.contains_key(&issue))
            .unwrap_or_else(|| panic!("fake GitHub: no issue {repo}#{issue}"))
            .full_name();
        let id = st.next_id();
        let now = Utc::now();
        st.comments.push(Comment {
            id,
            repo: full,
            issue,
            body: body.to_string(),
            author: author.to_string(),
            created_at: now,
            updated_at: now,
        });
        id
    }

    /// Opens a PR as `author`. `head` is `branch` or `owner:branch` (a fork, which must have
    /// been added as `owner/<same name>`). Panics with GitHub's message when GitHub would refuse.
    pub fn open_pr(
        &self,
        repo: &str,
        head: &str,
        base: &str,
        title: &str,
        body: &str,
        author: &str,
    ) -> u64 {
        let mut st = lock(&self.state);
        let full = st
            .repo_by_full_name(repo)
            .unwrap_or_else(|| panic!("fake GitHub: no repository {repo}"))
            .full_name();
        let new = pulls::NewPull {
            head,
            base,
            title,
            body: Some(body.to_string()),
            draft: false,
            author,
        };
        match pulls::open_pull(&mut st, &full, new) {
            Ok(n) => n,
            Err(resp) => panic!(
                "fake GitHub: cannot open PR {head} -> {base}: status {}",
                resp.status()
            ),
        }
    }

    /// Merges PR `number` like the merge button, pressed by [`pulls::DEFAULT_MERGER`];
    /// returns the merge commit SHA.
    pub fn merge_pr(&self, repo: &str, number: u64) -> String {
        self.merge_pr_as(repo, number, pulls::DEFAULT_MERGER)
    }

    /// Merges PR `number` like the merge button pressed by `login`.
    pub fn merge_pr_as(&self, repo: &str, number: u64, login: &str) -> String {
        let mut st = lock(&self.state);
        let full = st
            .repo_by_full_name(repo)
            .unwrap_or_else(|| panic!("fake GitHub: no repository {repo}"))
            .full_name();
        pulls::merge_pull(&mut st, &full, number, login)
            .unwrap_or_else(|e| panic!("fake GitHub: merge: {e}"))
    }

    /// Closes an issue or PR without merging.
    pub fn close_issue(&self, repo: &str, number: u64) {
        let mut st = lock(&self.state);
        let issue = st
            .repo_by_full_name_mut(repo)
            .and_then(|r| r.issues.get_mut(&number))
            .unwrap_or_else(|| panic!("fake GitHub: no issue {repo}#{number}"));
        issue.open = false;
        issue.updated_at = Utc::now();
    }

    /// How long newly minted installation tokens live (GitHub: one hour).
    pub fn set_token_ttl(&self, ttl: Duration) {
        lock(&self.state).token_ttl =
            chrono::Duration::from_std(ttl).expect("token ttl fits in chrono::Duration");
    }

    /// Revokes every installation token issued so far (later requests with them get 401).
    pub fn revoke_tokens(&self) {
        lock(&self.state).tokens.clear();
    }

    // ----- inspection --------------------------------------------------------------------

    /// Every pull request in every repository, by repository then number.
    pub fn prs(&self) -> Vec<PullRequest> {
        let st = lock(&self.state);
        st.repos
            .values()
            .flat_map(|r| {
                let full = r.full_name();
                r.issues.values().filter_map(move |i| {
                    i.pull
                        .as_ref()
                        .map(|p| PullRequest::from_issue(&full, i, p))
                })
            })
            .collect()
    }

    pub fn pr(&self, repo: &str, number: u64) -> Option<PullRequest> {
        self.prs()
            .into_iter()
            .find(|p| p.repo.eq_ignore_ascii_case(repo) && p.number == number)
    }

    pub fn issue(&self, repo: &str, number: u64) -> Option<IssueInfo> {
        let st = lock(&self.state);
        let r = st.repo_by_full_name(repo)?;
        r.issues
            .get(&number)
            .map(|i| IssueInfo::from_issue(&r.full_name(), i))
    }

    /// Comments on one issue or PR, oldest first.
    pub fn comments(&self, repo: &str, issue: u64) -> Vec<Comment> {
        lock(&self.state)
            .comments
            .iter()
            .filter(|c| c.repo.eq_ignore_ascii_case(repo) && c.issue == issue)
            .cloned()
            .collect()
    }

    /// Deletes a comment, as a person with the right to would on GitHub.
    pub fn delete_comment(&self, id: u64) {
        lock(&self.state).comments.retain(|c| c.id != id);
    }

    /// Every comment in every repository, oldest first.
    pub fn all_comments(&self) -> Vec<Comment> {
        lock(&self.state).comments.clone()
    }

    /// A file's text at a branch, full SHA or SHA prefix; `None` when absent.
    /// Panics if the content is not UTF-8 (use [`FakeGithub::file_bytes`]).
    pub fn file(&self, repo: &str, git_ref: &str, path: &str) -> Option<String> {
        self.file_bytes(repo, git_ref, path).map(|b| {
            String::from_utf8(b).unwrap_or_else(|_| panic!("fake GitHub: {path} is not UTF-8"))
        })
    }

    pub fn file_bytes(&self, repo: &str, git_ref: &str, path: &str) -> Option<Vec<u8>> {
        let st = lock(&self.state);
        st.repo_by_full_name(repo)?
            .resolve(git_ref)?
            .files
            .get(path)
            .cloned()
    }

    /// Every path at a ref, sorted.
    pub fn paths(&self, repo: &str, git_ref: &str) -> Vec<String> {
        let st = lock(&self.state);
        st.repo_by_full_name(repo)
            .and_then(|r| r.resolve(git_ref))
            .map(|c| c.files.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Branch name → head SHA.
    pub fn branches(&self, repo: &str) -> BTreeMap<String, String> {
        let st = lock(&self.state);
        st.repo_by_full_name(repo)
            .map(|r| r.branches.clone())
            .unwrap_or_default()
    }

    pub fn branch_head(&self, repo: &str, branch: &str) -> Option<String> {
        self.branches(repo).remove(branch)
    }

    /// Every check run, in creation order.
    pub fn check_runs(&self) -> Vec<CheckRun> {
        lock(&self.state).check_runs.clone()
    }

    /// Makes every request take `round_trip` longer, half before it is handled and half
    /// after, as a client far from the API sees it.
    pub fn set_round_trip(&self, round_trip: Duration) {
        lock(&self.state).round_trip = round_trip;
    }

    /// Changes each time a request has been answered (and its effects are in the state).
    pub fn answered(&self) -> tokio::sync::watch::Receiver<u64> {
        lock(&self.state).answered.subscribe()
    }

    /// Every request answered so far, in arrival order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        lock(&self.state).log.clone()
    }

    /// Requests with `method` whose path starts with `path_prefix`.
    pub fn requests_to(&self, method: &str, path_prefix: &str) -> Vec<RequestRecord> {
        self.requests()
            .into_iter()
            .filter(|r| r.method.eq_ignore_ascii_case(method) && r.path.starts_with(path_prefix))
            .collect()
    }

    /// How many installation tokens were minted.
    pub fn token_requests(&self) -> usize {
        lock(&self.state).token_requests
    }

    /// How each authenticated route's request authenticated, in order.
    pub fn auth_log(&self) -> Vec<AuthKind> {
        lock(&self.state).auth_log.clone()
    }

    /// The tarball the API would serve for `git_ref` (gzip'd tar, top dir `<owner>-<repo>-<sha7>/`).
    pub fn tarball(&self, repo: &str, git_ref: &str) -> Option<Vec<u8>> {
        let st = lock(&self.state);
        let r = st.repo_by_full_name(repo)?;
        let c = r.resolve(git_ref)?;
        let top = format!("{}-{}-{}", r.owner, r.name, &c.sha[..7]);
        git::build_tarball(&top, c).ok()
    }
}

mod faults;
mod history;
pub mod merge_queue;
mod oauth;
mod reactions;

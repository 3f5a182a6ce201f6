//! Repository, contents, branches, permissions and tarballs.

use base64::Engine;
use bytes::Bytes;
use http::{Method, StatusCode};
use promptops_core::{CommitSha, RepoName};
use serde::Deserialize;
use serde_json::{Value, json};

use super::transport::{Sent, enc_path, enc_segment, query};
use super::{BranchState, FileContent, GithubError, Permission, RepoApi, Result, repo_route};

#[derive(Deserialize)]
struct RepoJson {
    default_branch: String,
}

#[derive(Deserialize)]
struct RefJson {
    object: RefObject,
}

#[derive(Deserialize)]
struct RefObject {
    sha: CommitSha,
}

#[derive(Deserialize)]
struct ContentJson {
    #[serde(rename = "type")]
    kind: String,
    sha: String,
    content: Option<String>,
    encoding: Option<String>,
}

#[derive(Deserialize)]
struct PermissionJson {
    permission: Option<String>,
    role_name: Option<String>,
}

impl RepoApi {
    /// The repository's default branch.
    pub async fn default_branch(&self, repo: &RepoName) -> Result<String> {
        let r: RepoJson = self
            .t
            .get_json("get the repository", &repo_route(repo))
            .await?;
        Ok(r.default_branch)
    }

    /// A file's text at `git_ref` (branch, tag or SHA); `None` when there is no such file.
    pub async fn get_file(
        &self,
        repo: &RepoName,
        path: &str,
        git_ref: &str,
    ) -> Result<Option<FileContent>> {
        let op = format!("read {path} at {git_ref}");
        let route = format!(
            "{}/contents/{}{}",
            repo_route(repo),
            enc_path(path),
            query(&[("ref", git_ref)])
        );
        self.read_file(op, route, path).await
    }

    /// A file's text on the repository's default branch (the contents API's `ref` left
    /// out): one request, where naming the branch would first need it read.
    pub async fn get_default_branch_file(
        &self,
        repo: &RepoName,
        path: &str,
    ) -> Result<Option<FileContent>> {
        let op = format!("read {path} on the default branch");
        let route = format!("{}/contents/{}", repo_route(repo), enc_path(path));
        self.read_file(op, route, path).await
    }

    async fn read_file(
        &self,
        op: String,
        route: String,
        path: &str,
    ) -> Result<Option<FileContent>> {
        let Some(v) = self.t.get_optional::<Value>(&op, &route).await? else {
            return Ok(None);
        };
        let decode_err = |message: String| GithubError::Decode {
            operation: op.clone(),
            message,
        };
        if v.is_array() {
            return Err(decode_err(format!("{path} is a directory, not a file")));
        }
        let c: ContentJson =
            serde_json::from_value(v).map_err(|e| decode_err(format!("file entry: {e}")))?;
        if c.kind != "file" {
            return Err(decode_err(format!("{path} is a {}, not a file", c.kind)));
        }
        if c.encoding.as_deref() != Some("base64") {
            return Err(decode_err(format!(
                "content comes as {:?}, not base64 (files over 1 MB have no inline content)",
                c.encoding
            )));
        }
        let cleaned: String = c.content.unwrap_or_default().split_whitespace().collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(cleaned)
            .map_err(|e| decode_err(format!("content is not base64: {e}")))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| decode_err(format!("{path} is not UTF-8 text")))?;
        Ok(Some(FileContent { text, sha: c.sha }))
    }

    /// The SHA a branch points at; `None` when it does not exist.
    pub async fn branch_head(&self, repo: &RepoName, branch: &str) -> Result<Option<CommitSha>> {
        let route = format!("{}/git/ref/heads/{}", repo_route(repo), enc_path(branch));
        let r: Option<RefJson> = self
            .t
            .get_optional(&format!("read branch {branch}"), &route)
            .await?;
        Ok(r.map(|r| r.object.sha))
    }

    /// Creates `branch` at `from_sha` unless it exists (an existing branch is left as it is).
    pub async fn ensure_branch(
        &self,
        repo: &RepoName,
        branch: &str,
        from_sha: &CommitSha,
    ) -> Result<BranchState> {
        if let Some(head_sha) = self.branch_head(repo, branch).await? {
            return Ok(BranchState {
                head_sha,
                created: false,
            });
        }
        let op = format!("create branch {branch}");
        let body = json!({ "ref": format!("refs/heads/{branch}"), "sha": from_sha });
        let route = format!("{}/git/refs", repo_route(repo));
        let settled = move || async move {
            Ok(self
                .branch_head(repo, branch)
                .await?
                .map(|head_sha| BranchState {
                    head_sha,
                    created: true,
                }))
        };
        let answer = match self
            .t
            .send_create(&op, Method::POST, &route, Some(&body), settled)
            .await?
        {
            Sent::AlreadyDone(state) => return Ok(state),
            Sent::Answer(a) => a,
        };
        if answer.is_success() {
            let r: RefJson = answer.json(&op)?;
            return Ok(BranchState {
                head_sha: r.object.sha,
                created: true,
            });
        }
        if answer.status == StatusCode::UNPROCESSABLE_ENTITY
            && answer.message().contains("already exists")
            && let Some(head_sha) = self.branch_head(repo, branch).await?
        {
            return Ok(BranchState {
                head_sha,
                created: false,
            });
        }
        Err(answer.error(&op))
    }

    /// Moves `branch` to `sha` (`force` allows a non-fast-forward move).
    pub async fn update_branch(
        &self,
        repo: &RepoName,
        branch: &str,
        sha: &CommitSha,
        force: bool,
    ) -> Result<()> {
        let op = format!("move branch {branch} to {sha}");
        let route = format!("{}/git/refs/heads/{}", repo_route(repo), enc_path(branch));
        let body = json!({ "sha": sha, "force": force });
        self.t
            .send(&op, Method::PATCH, &route, Some(&body))
            .await?
            .success_json::<Value>(&op)
            .map(|_| ())
    }

    /// `user`'s role on the repository (`None` for someone without access).
    pub async fn collaborator_permission(&self, repo: &RepoName, user: &str) -> Result<Permission> {
        let op = format!("read {user}'s permission");
        let route = format!(
            "{}/collaborators/{}/permission",
            repo_route(repo),
            enc_segment(user)
        );
        let Some(p) = self.t.get_optional::<PermissionJson>(&op, &route).await? else {
            return Ok(Permission::None);
        };
        // `role_name` is precise (maintain, triage); `permission` is the legacy base role.
        let parsed = p
            .role_name
            .as_deref()
            .and_then(|r| r.parse().ok())
            .or_else(|| p.permission.as_deref().and_then(|r| r.parse().ok()));
        parsed.ok_or_else(|| GithubError::Decode {
            operation: op,
            message: format!(
                "unknown permission (role_name {:?}, permission {:?})",
                p.role_name, p.permission
            ),
        })
    }

    /// The repository at `commit` as GitHub's gzip'd tarball (one top-level directory
    /// `<owner>-<repo>-<short sha>/`, preceded by a `pax_global_header` entry), refused
    /// (`TooLarge`) once it is known to be longer than `max_bytes`: whoever pushes the
    /// commit decides its size, and the whole of it is held in memory.
    pub async fn download_tarball(
        &self,
        repo: &RepoName,
        commit: &CommitSha,
        max_bytes: u64,
    ) -> Result<Bytes> {
        let op = format!("download the tarball of {commit}");
        let route = format!("{}/tarball/{commit}", repo_route(repo));
        let t = self.t.with_max_answer(max_bytes);
        let mut answer = t.send(&op, Method::GET, &route, None).await?;
        if answer.status.is_redirection() {
            // Normally followed inside octocrab; follow by hand if it was not.
            let location = answer
                .headers
                .get(http::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
                .ok_or_else(|| GithubError::Decode {
                    operation: op.clone(),
                    message: format!("{} without a Location header", answer.status),
                })?;
            answer = t.send(&op, Method::GET, &location, None).await?;
        }
        if !answer.is_success() {
            return Err(answer.error(&op));
        }
        if !answer.body.starts_with(&[0x1f, 0x8b]) {
            return Err(GithubError::Decode {
                operation: op,
                message: format!(
                    "expected a gzip tarball, got {} bytes of something else",
                    answer.body.len()
                ),
            });
        }
        Ok(answer.body)
    }
}

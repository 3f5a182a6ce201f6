//! The GitHub App client: App JWT auth and installation tokens through octocrab (cached and
//! refreshed by octocrab's installation client), raw REST routes for the operations the bot
//! needs, and our own retry policy.
//!
//! Creating requests are made safe to retry: before re-sending a create whose answer was
//! lost (5xx, dropped connection), the client looks for what it would have created: the open
//! PR for the head branch, the comment carrying the same hidden marker, the branch, the check
//! run with the same `external_id`, or the file already holding the content.

mod app_key;
mod check_buttons;
mod checks;
mod comments;
mod compare;
mod error;
mod file_commit;
mod issue_writes;
pub mod marker;
pub mod observe;
mod path;
mod pr_lists;
mod pulls;
mod reactions;
mod repo;
mod retry;
mod transport;
mod types;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use octocrab::Octocrab;
use octocrab::models::{AppId, InstallationId};
use promptops_core::RepoName;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::OnceCell;

pub use app_key::{KeyProblem, signing_key};
pub use check_buttons::{ButtonError, CheckRunButton, CheckRunButtons};
pub use checks::CHECK_OUTPUT_LIMIT_CHARS;
pub use compare::{BranchWork, CommitRelation};
pub use error::{ConfigError, GithubError, InvalidInput, Result};
pub use file_commit::{BranchMove, FileChange};
pub use issue_writes::{IssueRef, KeyedIssue};
pub use marker::{GITHUB_COMMENT_LIMIT_CHARS, MAX_COMMENT_BODY_CHARS};
pub use observe::{
    ApiRequest, ApiRetry, GithubObserver, RateLimitWait, RetryReason, StatusClass, route_template,
};
pub use pr_lists::{ChangedFile, Cut, MAX_PR_COMMITS, MAX_PR_FILES, PrList};
pub use reactions::Reaction;
pub use retry::{RetryPolicy, Sleeper, TokioSleeper};
pub use transport::Answer;
pub use types::{
    AppInfo, BranchState, CheckConclusion, CheckOutput, CheckRunUpdate, CheckStatus, CommentInfo,
    FileContent, IssueInfo, IssueState, NewCheckRun, NewPullRequest, ParsePermissionError,
    Permission, PrState, PullRequestCommit, PullRequestInfo, PullRequestUpdate,
};

use transport::Transport;

/// The App: authenticates with a JWT signed by its private key, and hands out per-installation
/// API handles. Cheap to share (`Arc` inside); build it once per process.
pub struct GithubApp {
    app: Transport,
    app_id: u64,
    /// Each installation's client and the lock its token is minted under.
    installations: Mutex<HashMap<u64, InstallationClient>>,
    bot_login: Arc<OnceCell<String>>,
}

/// One installation's octocrab client and the lock its token is minted under (see
/// `Transport::token_mint`), shared by every handle for that installation.
type InstallationClient = (Arc<Octocrab>, Arc<tokio::sync::Mutex<()>>);

impl GithubApp {
    /// `api_url` is `GITHUB_API_URL` (e.g. `https://api.github.com`, a GHES `/api/v3` URL, or
    /// a test server). Must be called inside a Tokio runtime (octocrab spawns its worker).
    pub fn new(api_url: &str, app_id: u64, private_key_pem: &SecretString) -> Result<GithubApp> {
        check_api_url(api_url)?;
        let url = api_url.to_owned();
        let key = signing_key(private_key_pem.expose_secret()).map_err(ConfigError::PrivateKey)?;
        let octo = Octocrab::builder()
            .base_uri(api_url.trim_end_matches('/'))
            .map_err(|cause| ConfigError::BaseUri { url, cause })?
            .app(AppId(app_id), key)
            .build()
            .map_err(ConfigError::Client)?;
        Ok(GithubApp {
            app: Transport {
                octo: Arc::new(octo),
                policy: RetryPolicy::default(),
                sleeper: Arc::new(TokioSleeper),
                observer: observe::no_observer(),
                token_mint: None,
                max_answer_bytes: None,
            },
            app_id,
            installations: Mutex::new(HashMap::new()),
            bot_login: Arc::new(OnceCell::new()),
        })
    }

    /// Replaces the retry policy (for every installation handle made afterwards).
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.app.policy = policy;
        self
    }

    /// Replaces how the client waits (tests record waits instead of sleeping).
    pub fn with_sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.app.sleeper = sleeper;
        self
    }

    /// Reports every request, retry and rate-limit wait to `observer` (for every
    /// installation handle made afterwards).
    pub fn with_observer(mut self, observer: Arc<dyn GithubObserver>) -> Self {
        self.app.observer = observer;
        self
    }

    pub fn app_id(&self) -> u64 {
        self.app_id
    }

    /// `GET /app`: proves the App id and key are accepted.
    pub async fn app_info(&self) -> Result<AppInfo> {
        self.app.get_json("get the App", "/app").await
    }

    /// The installation of this App that reaches `repo` (`GET /repos/{owner}/{repo}/installation`,
    /// as the App); `None` when the App is not installed there (or the repository does not
    /// exist: GitHub answers both with 404).
    pub async fn repo_installation(&self, repo: &RepoName) -> Result<Option<u64>> {
        #[derive(serde::Deserialize)]
        struct Installation {
            id: u64,
        }
        let op = format!("find the App's installation on {repo}");
        let route = format!("{}/installation", repo_route(repo));
        let found = self.app.get_optional::<Installation>(&op, &route).await?;
        Ok(found.map(|installation| installation.id))
    }

    /// The API as installation `installation_id`. Its token is minted on first use, cached,
    /// and refreshed before it expires; handles for the same installation share it.
    pub fn installation(&self, installation_id: u64) -> Result<RepoApi> {
        let (octo, token_mint) = {
            let mut map = self
                .installations
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            match map.get(&installation_id) {
                Some(known) => known.clone(),
                None => {
                    let octo = self
                        .app
                        .octo
                        .installation(InstallationId(installation_id))
                        .map_err(|cause| ConfigError::Installation {
                            id: installation_id,
                            cause,
                        })?;
                    let known = (Arc::new(octo), Arc::new(tokio::sync::Mutex::new(())));
                    map.insert(installation_id, known.clone());
                    known
                }
            }
        };
        Ok(RepoApi {
            t: Transport {
                octo,
                policy: self.app.policy.clone(),
                sleeper: self.app.sleeper.clone(),
                observer: self.app.observer.clone(),
                token_mint: Some(token_mint),
                max_answer_bytes: None,
            },
            app: self.app.clone(),
            installation_id,
            bot_login: self.bot_login.clone(),
        })
    }
}

/// Whether `api_url` (`GITHUB_API_URL`) can be the API root: an http(s) URL.
pub fn check_api_url(api_url: &str) -> Result<(), ConfigError> {
    let parsed = url::Url::parse(api_url).map_err(|cause| ConfigError::NotAUrl {
        url: api_url.to_owned(),
        cause,
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(ConfigError::NotHttp {
            url: api_url.to_owned(),
        });
    }
    Ok(())
}

/// Repository operations as one installation. Every operation takes the repository's
/// name, `owner/name`.
#[derive(Clone)]
pub struct RepoApi {
    t: Transport,
    app: Transport,
    installation_id: u64,
    bot_login: Arc<OnceCell<String>>,
}

impl RepoApi {
    pub fn installation_id(&self) -> u64 {
        self.installation_id
    }

    /// The login the App writes as, `<slug>[bot]` (looked up once with `GET /app`).
    pub async fn bot_login(&self) -> Result<String> {
        let login = self
            .bot_login
            .get_or_try_init(|| async {
                let info: AppInfo = self.app.get_json("get the App", "/app").await?;
                let slug = info.slug.ok_or_else(|| GithubError::Decode {
                    operation: "get the App".to_string(),
                    message: "no slug in GET /app".to_string(),
                })?;
                Ok::<_, GithubError>(format!("{slug}[bot]"))
            })
            .await?;
        Ok(login.clone())
    }
}

/// `/repos/{owner}/{repo}` with both parts encoded.
fn repo_route(repo: &RepoName) -> String {
    format!(
        "/repos/{}/{}",
        transport::enc_segment(repo.owner()),
        transport::enc_segment(repo.name())
    )
}

//! Which repositories a dashboard viewer may see, and act on.
//!
//! The operator (the dashboard token, or the loopback-open link) sees and does everything.
//! Someone signed in with GitHub is a member of at least one of the App's installations,
//! which says nothing about the other installations' repositories: they see a
//! repository's deployments, runs, locks and schedules only while GitHub gives them at
//! least read on it, and they act on it (unlock) only with its
//! `permissions.min_permission`, the rule its `/promptops` commands follow. What belongs
//! to no repository but spends the operator's money ("Try a prompt") needs that on at
//! least one repository the App serves.
//!
//! GitHub is asked as the App: `GET /repos/{owner}/{repo}/installation` (with the App's
//! JWT) finds the installation, then `GET /repos/{owner}/{repo}/collaborators/{login}/permission`
//! (with its token) gives the person's role, and an action (or the try page) also reads
//! `.github/promptops.yml` from the default branch. What a page needs is cached for
//! `RIGHTS_TTL` (roles per session), so that pages stay fast while a lost permission stops
//! counting within a minute; an action always asks GitHub afresh.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, PoisonError};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use promptops_core::RepoName;
use promptops_github::client::{Permission, RepoApi};

use super::Dashboard;
use super::access::Viewer;
use super::html::{escape, page};
use super::session::Session;
use crate::repo_config::{REPO_CONFIG_PATH, RepoConfig};

/// How long what GitHub said about a person's access (and a repository's installation)
/// is believed for pages. Actions do not use it.
pub const RIGHTS_TTL: Duration = Duration::seconds(60);
/// Past this many cached answers the expired ones are dropped (and, if all are fresh, all).
const MAX_CACHED: usize = 4096;

/// The repositories a page may show its viewer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The operator: every repository.
    Everything,
    /// Someone signed in with GitHub: these, which GitHub says they can read.
    Only(BTreeSet<RepoName>),
}

impl Scope {
    pub fn includes(&self, repo: &RepoName) -> bool {
        match self {
            Scope::Everything => true,
            Scope::Only(repos) => repos.contains(repo),
        }
    }
}

/// GitHub could not be asked whether someone may see or act on a repository.
#[derive(Debug, thiserror::Error)]
pub enum RightsError {
    #[error(
        "no GitHub App is connected, so GitHub cannot be asked which repositories {login} may see; connect one on /setup, or use the dashboard token"
    )]
    NoApp { login: String },
    #[error("GitHub could not say what {login} may see or do in {repo}: {detail}")]
    Github {
        login: String,
        repo: RepoName,
        detail: String,
    },
}

/// Why a signed-in person may not act on a repository; `Display` is what they are shown.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error(
        "{login} has {actual} permission on {repo}, and {action} there needs {min} or higher (permissions.min_permission in its {REPO_CONFIG_PATH}), as its /promptops commands do. Ask someone with {min}, or the operator."
    )]
    TooLow {
        login: String,
        repo: RepoName,
        action: &'static str,
        actual: Permission,
        min: Permission,
    },
    #[error(
        "{login} cannot read {repo} on GitHub, so the dashboard neither shows it nor acts on it for them."
    )]
    Hidden { login: String, repo: RepoName },
    #[error(
        "{action} needs, on at least one repository PromptOps serves, that repository's permissions.min_permission (in its {REPO_CONFIG_PATH}; write unless it says otherwise), the rule its /promptops commands follow, and GitHub gives {login} that on none of them. Ask someone who has it, or the operator."
    )]
    Nowhere { login: String, action: &'static str },
    #[error(
        "{repo}'s {REPO_CONFIG_PATH} has a problem, so nothing is done there from the dashboard until it is fixed (its /promptops commands are refused too): {problem}"
    )]
    Settings { repo: RepoName, problem: String },
    #[error(transparent)]
    Unchecked(#[from] RightsError),
}

/// What GitHub answered, by question, with when it answered.
type Answers<K, V> = Mutex<HashMap<K, (V, DateTime<Utc>)>>;

/// One signed-in session, as the cache tells them apart: signing in again asks afresh.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct SessionId {
    login: String,
    expires_at: i64,
}

/// Each session's role on each repository, each repository's installation, and its
/// `min_permission` (or what is wrong with its settings).
#[derive(Debug, Default)]
pub struct RightsCache {
    roles: Answers<(SessionId, RepoName), Permission>,
    installations: Answers<RepoName, Option<u64>>,
    min_permissions: Answers<RepoName, Result<Permission, String>>,
}

fn remember<K: std::hash::Hash + Eq, V>(map: &Answers<K, V>, key: K, value: V, now: DateTime<Utc>) {
    let mut map = map.lock().unwrap_or_else(PoisonError::into_inner);
    if map.len() >= MAX_CACHED {
        map.retain(|_, (_, at)| now - *at < RIGHTS_TTL);
        if map.len() >= MAX_CACHED {
            map.clear();
        }
    }
    map.insert(key, (value, now));
}

fn recall<K: std::hash::Hash + Eq, V: Clone>(
    map: &Answers<K, V>,
    key: &K,
    now: DateTime<Utc>,
) -> Option<V> {
    let map = map.lock().unwrap_or_else(PoisonError::into_inner);
    map.get(key)
        .filter(|(_, at)| now - *at < RIGHTS_TTL && *at <= now)
        .map(|(value, _)| value.clone())
}

fn role_key(session: &Session, repo: &RepoName) -> (SessionId, RepoName) {
    let id = SessionId {
        login: session.login.to_ascii_lowercase(),
        expires_at: session.expires_at.timestamp(),
    };
    (id, repo.clone())
}

impl Dashboard {
    /// Which of `repos` the viewer may see.
    pub(super) async fn scope<'r>(
        &self,
        viewer: &Viewer,
        repos: impl IntoIterator<Item = &'r RepoName>,
    ) -> Result<Scope, RightsError> {
        let Viewer::SignedIn { session, .. } = viewer else {
            return Ok(Scope::Everything);
        };
        let roles = self.roles(session, repos, false).await?;
        Ok(Scope::Only(
            roles
                .into_iter()
                .filter(|(_, role)| *role >= Permission::Read)
                .map(|(repo, _)| repo.clone())
                .collect(),
        ))
    }

    /// The person's role on each of `repos` (each once), cached unless `fresh`. One page
    /// may show many repositories: GitHub is asked about them side by side.
    async fn roles<'r>(
        &self,
        session: &Session,
        repos: impl IntoIterator<Item = &'r RepoName>,
        fresh: bool,
    ) -> Result<Vec<(&'r RepoName, Permission)>, RightsError> {
        let wanted: BTreeSet<&RepoName> = repos.into_iter().collect();
        futures::future::try_join_all(wanted.into_iter().map(|repo| async move {
            Ok::<_, RightsError>((repo, self.role(session, repo, fresh).await?))
        }))
        .await
    }

    /// Whether the viewer may see `repo`.
    pub(super) async fn may_see(
        &self,
        viewer: &Viewer,
        repo: &RepoName,
    ) -> Result<bool, RightsError> {
        Ok(self.scope(viewer, [repo]).await?.includes(repo))
    }

    /// Whether the viewer may do `action` (e.g. "unlocking a deployment") on `repo`: the
    /// operator may; someone signed in needs the repository's `min_permission`, as GitHub
    /// and the settings say now.
    pub(super) async fn may_act(
        &self,
        viewer: &Viewer,
        repo: &RepoName,
        action: &'static str,
    ) -> Result<(), Refusal> {
        let Viewer::SignedIn { session, .. } = viewer else {
            return Ok(());
        };
        let actual = self.role(session, repo, true).await?;
        if actual < Permission::Read {
            // Not even its settings are read for them.
            return Err(Refusal::Hidden {
                login: session.login.clone(),
                repo: repo.clone(),
            });
        }
        let min = self.min_permission(session, repo, true).await?;
        if actual >= min {
            return Ok(());
        }
        Err(Refusal::TooLow {
            login: session.login.clone(),
            repo: repo.clone(),
            action,
            actual,
            min,
        })
    }

    /// Whether the viewer may do `action`, which belongs to no repository: the operator
    /// may; someone signed in needs, on at least one of `repos`, that repository's
    /// `min_permission`. A page (`fresh` false) believes GitHub's answers for
    /// `RIGHTS_TTL`; an action asks afresh.
    pub(super) async fn may_act_somewhere(
        &self,
        viewer: &Viewer,
        repos: &BTreeSet<RepoName>,
        action: &'static str,
        fresh: bool,
    ) -> Result<(), Refusal> {
        let Viewer::SignedIn { session, .. } = viewer else {
            return Ok(());
        };
        let mut readable: Vec<_> = self
            .roles(session, repos, fresh)
            .await?
            .into_iter()
            .filter(|(_, role)| *role >= Permission::Read)
            .collect();
        // The highest role first: the likeliest to be enough, so the fewest settings read.
        readable.sort_by_key(|(_, role)| std::cmp::Reverse(*role));
        for (repo, actual) in readable {
            match self.min_permission(session, repo, fresh).await {
                Ok(min) if actual >= min => return Ok(()),
                // Too low here, or settings that cannot be used (its commands are refused
                // too): another repository may still be enough.
                Ok(_) | Err(Refusal::Settings { .. }) => {}
                Err(other) => return Err(other),
            }
        }
        Err(Refusal::Nowhere {
            login: session.login.clone(),
            action,
        })
    }

    fn now(&self) -> DateTime<Utc> {
        self.access
            .sign_in()
            .map_or_else(Utc::now, |sign_in| sign_in.now())
    }

    /// The person's role on `repo`: cached unless `fresh`; `None` where the App is not
    /// installed (nothing of it is shown there).
    async fn role(
        &self,
        session: &Session,
        repo: &RepoName,
        fresh: bool,
    ) -> Result<Permission, RightsError> {
        let key = role_key(session, repo);
        let now = self.now();
        if !fresh && let Some(role) = recall(&self.rights.roles, &key, now) {
            return Ok(role);
        }
        let role = match self.installation_api(session, repo).await? {
            Some(api) => api
                .collaborator_permission(repo, &session.login)
                .await
                .map_err(|err| github_error(session, repo, &err))?,
            None => Permission::None,
        };
        remember(&self.rights.roles, key, role, now);
        Ok(role)
    }

    /// The repository's `min_permission`, read from its default branch: now when `fresh`,
    /// else as read within `RIGHTS_TTL`.
    async fn min_permission(
        &self,
        session: &Session,
        repo: &RepoName,
        fresh: bool,
    ) -> Result<Permission, Refusal> {
        let now = self.now();
        let cached = recall(&self.rights.min_permissions, repo, now).filter(|_| !fresh);
        let answer = match cached {
            Some(answer) => answer,
            None => {
                let answer = self.read_min_permission(session, repo).await?;
                remember(
                    &self.rights.min_permissions,
                    repo.clone(),
                    answer.clone(),
                    now,
                );
                answer
            }
        };
        answer.map_err(|problem| Refusal::Settings {
            repo: repo.clone(),
            problem,
        })
    }

    /// The repository's `min_permission` as its default branch says it now, or what is
    /// wrong with its settings.
    async fn read_min_permission(
        &self,
        session: &Session,
        repo: &RepoName,
    ) -> Result<Result<Permission, String>, RightsError> {
        let default = RepoConfig::default().permissions.min_permission;
        let Some(api) = self.installation_api(session, repo).await? else {
            return Ok(Ok(default));
        };
        let file = api
            .get_default_branch_file(repo, REPO_CONFIG_PATH)
            .await
            .map_err(|err| github_error(session, repo, &err))?;
        let Some(file) = file else {
            return Ok(Ok(default));
        };
        Ok(RepoConfig::parse(&file.text, &self.catalog)
            .map(|config| config.permissions.min_permission)
            .map_err(|err| err.to_string()))
    }

    /// The App's API as the installation that reaches `repo`, if it is installed there.
    async fn installation_api(
        &self,
        session: &Session,
        repo: &RepoName,
    ) -> Result<Option<RepoApi>, RightsError> {
        let app = self
            .app
            .as_ref()
            .and_then(|slot| slot.load())
            .ok_or_else(|| RightsError::NoApp {
                login: session.login.clone(),
            })?;
        let github = &app.handlers.github;
        let now = self.now();
        let id = match recall(&self.rights.installations, repo, now) {
            Some(id) => id,
            None => {
                let id = github
                    .repo_installation(repo)
                    .await
                    .map_err(|err| github_error(session, repo, &err))?;
                remember(&self.rights.installations, repo.clone(), id, now);
                id
            }
        };
        id.map(|id| github.installation(id))
            .transpose()
            .map_err(|err| github_error(session, repo, &err))
    }
}

fn github_error(session: &Session, repo: &RepoName, err: &impl std::fmt::Display) -> RightsError {
    RightsError::Github {
        login: session.login.clone(),
        repo: repo.clone(),
        detail: err.to_string(),
    }
}

/// A page saying GitHub could not be asked who may see what.
pub fn unchecked(err: &RightsError) -> Response {
    tracing::warn!(error = %err, "dashboard access to a repository could not be checked");
    let status = match err {
        RightsError::NoApp { .. } => StatusCode::SERVICE_UNAVAILABLE,
        RightsError::Github { .. } => StatusCode::BAD_GATEWAY,
    };
    let body = format!(
        "<p class=\"error\" id=\"refusal\">{}</p><p>Reload the page to ask again.</p>",
        escape(&err.to_string())
    );
    (status, page("Access could not be checked", &body)).into_response()
}

/// A page for a refused action, with the way back.
pub fn refused(refusal: &Refusal, back: &str) -> Response {
    let status = match refusal {
        Refusal::Unchecked(err) => return unchecked(err),
        Refusal::TooLow { .. }
        | Refusal::Hidden { .. }
        | Refusal::Nowhere { .. }
        | Refusal::Settings { .. } => StatusCode::FORBIDDEN,
    };
    let body = format!(
        "<p class=\"error\" id=\"refusal\">{}</p><p><a href=\"{}\">Back</a></p>",
        escape(&refusal.to_string()),
        escape(back)
    );
    (status, page("Not allowed", &body)).into_response()
}

/// A page for something in a repository the viewer may not see. It names the repository
/// only when the viewer named it themselves (`named`).
pub fn hidden(viewer: &Viewer, what: &str, named: Option<&RepoName>) -> Response {
    let who = match viewer {
        Viewer::SignedIn { session, .. } => session.login.as_str(),
        _ => "you",
    };
    let whose = named.map_or_else(
        || "a repository that".to_owned(),
        |repo| format!("{repo}, which"),
    );
    let body = format!(
        "<p class=\"error\" id=\"refusal\">{} is in {} {} cannot read on GitHub: the dashboard \
         shows people only the repositories GitHub lets them read.</p><p><a href=\"/dashboard\">All \
         deployments</a></p>",
        escape(what),
        escape(&whose),
        escape(who)
    );
    (StatusCode::FORBIDDEN, page("Not shown", &body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn an_answer_is_believed_for_the_ttl_only() {
        let cache = RightsCache::default();
        let repo: RepoName = "acme/infra".parse().unwrap();
        remember(&cache.installations, repo.clone(), Some(7), at(0));
        assert_eq!(recall(&cache.installations, &repo, at(59)), Some(Some(7)));
        assert_eq!(recall(&cache.installations, &repo, at(60)), None);
        // A clock that went back does not make an answer last longer.
        assert_eq!(recall(&cache.installations, &repo, at(-1)), None);
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = RightsCache::default();
        for n in 0..MAX_CACHED + 10 {
            let repo: RepoName = format!("acme/repo-{n}").parse().unwrap();
            remember(&cache.installations, repo, None, at(0));
        }
        let len = cache.installations.lock().unwrap().len();
        assert!(len <= MAX_CACHED, "{len}");
    }

    #[test]
    fn the_operator_sees_everything_and_a_scope_only_its_repositories() {
        let repo: RepoName = "acme/infra".parse().unwrap();
        let other: RepoName = "acme/other".parse().unwrap();
        assert!(Scope::Everything.includes(&other));
        let only = Scope::Only([repo.clone()].into());
        assert!(only.includes(&repo) && !only.includes(&other));
    }
}

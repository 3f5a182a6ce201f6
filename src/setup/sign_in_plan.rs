//! Dashboard sign-in with GitHub as the settings make it: the environment's OAuth client,
//! or that of the App's credentials file, and what is missing when neither is complete.

use std::path::{Path, PathBuf};

use secrecy::ExposeSecret as _;

use super::AppCredentials;
use crate::config::ServeSettings;

/// Where dashboard sign-in's OAuth client (id and secret) comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInSource {
    /// `GITHUB_CLIENT_ID` / `GITHUB_CLIENT_SECRET` (or their flags).
    Environment,
    /// The credentials file the service's App was loaded from (written by `/setup`).
    File(PathBuf),
}

impl std::fmt::Display for SignInSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignInSource::Environment => {
                f.write_str("the environment (GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET)")
            }
            SignInSource::File(path) => write!(f, "the credentials file {}", path.display()),
        }
    }
}

/// Dashboard sign-in with GitHub as the settings make it.
#[derive(Debug, Clone)]
pub enum SignInPlan {
    /// No OAuth client anywhere: sign-in is off.
    Off,
    /// Everything sign-in needs.
    Ready {
        settings: crate::web::SignInSettings,
        source: SignInSource,
    },
    /// Part of a configuration: `missing` names the settings it lacks.
    Incomplete {
        source: SignInSource,
        missing: Vec<&'static str>,
    },
}

impl SignInPlan {
    /// What is missing and why, for the log, `check` and the error that stops `serve`.
    pub fn problem(&self) -> Option<String> {
        let SignInPlan::Incomplete { source, missing } = self else {
            return None;
        };
        Some(match source {
            SignInSource::Environment if missing.contains(&PUBLIC_URL) && missing.len() == 1 => {
                "dashboard sign-in with GitHub needs PROMPTOPS_PUBLIC_URL (e.g. https://promptops.example.com): \
                 GitHub sends the browser back to <PROMPTOPS_PUBLIC_URL>/dashboard/oauth/callback, the App's callback URL"
                    .to_owned()
            }
            SignInSource::Environment => format!(
                "dashboard sign-in with GitHub is half configured: {} missing. It needs \
                 GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET and PROMPTOPS_PUBLIC_URL; unset \
                 GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET to turn it off",
                missing.join(", ")
            ),
            SignInSource::File(path) => format!(
                "dashboard sign-in with GitHub is off: the App's OAuth client comes from the \
                 credentials file {}, but sign-in also needs {}, which is not set. \
                 PROMPTOPS_PUBLIC_URL is the address browsers reach this service at (GitHub \
                 sends them back to <it>/dashboard/oauth/callback)",
                path.display(),
                missing.join(", ")
            ),
        })
    }
}

pub(crate) const CLIENT_ID: &str = "GITHUB_CLIENT_ID";
pub(crate) const CLIENT_SECRET: &str = "GITHUB_CLIENT_SECRET";
pub(crate) const PUBLIC_URL: &str = "PROMPTOPS_PUBLIC_URL";

impl ServeSettings {
    /// Sign-in with GitHub for the dashboard from the environment alone, when
    /// `GITHUB_CLIENT_ID` or its secret is set; half a configuration is an error that says
    /// what is missing.
    pub fn dashboard_sign_in(&self) -> anyhow::Result<Option<crate::web::SignInSettings>> {
        let plan = self.sign_in_plan(None);
        if let Some(problem) = plan.problem() {
            anyhow::bail!(problem);
        }
        Ok(match plan {
            SignInPlan::Ready { settings, .. } => Some(settings),
            _ => None,
        })
    }

    /// Sign-in with GitHub for the dashboard: the OAuth client of the environment when it
    /// sets `GITHUB_CLIENT_ID` or `GITHUB_CLIENT_SECRET` (the environment wins, as for the
    /// App), else that of `app_file` — the credentials file the running App was loaded
    /// from, so that people sign in to the very App whose installations are checked.
    pub fn sign_in_plan(&self, app_file: Option<(&Path, &AppCredentials)>) -> SignInPlan {
        let env_id = self
            .github_client_id
            .as_deref()
            .map(str::trim)
            .filter(|id| !id.is_empty());
        let env_secret = self
            .github_client_secret
            .as_ref()
            .filter(|secret| !secret.expose_secret().trim().is_empty());
        let (client_id, client_secret, source) = match (env_id, env_secret, app_file) {
            (None, None, None) => return SignInPlan::Off,
            (None, None, Some((path, credentials))) => (
                Some(credentials.client_id.trim()).filter(|id| !id.is_empty()),
                Some(&credentials.client_secret)
                    .filter(|secret| !secret.expose_secret().trim().is_empty()),
                SignInSource::File(path.to_owned()),
            ),
            (id, secret, _) => (id, secret, SignInSource::Environment),
        };
        let public_url = self
            .public_url
            .as_deref()
            .map(str::trim)
            .filter(|url| !url.is_empty());
        match (client_id, client_secret, public_url) {
            (Some(client_id), Some(secret), Some(public_url)) => SignInPlan::Ready {
                settings: crate::web::SignInSettings {
                    client_id: client_id.to_owned(),
                    client_secret: secret.clone(),
                    web_url: self.github.github_web_url.clone(),
                    api_url: self.github.github_api_url.clone(),
                    public_url: public_url.to_owned(),
                },
                source,
            },
            (client_id, secret, public_url) => {
                let (id_name, secret_name) = match source {
                    SignInSource::Environment => (CLIENT_ID, CLIENT_SECRET),
                    SignInSource::File(_) => {
                        ("`client_id` in the file", "`client_secret` in the file")
                    }
                };
                let missing = [
                    (id_name, client_id.is_some()),
                    (secret_name, secret.is_some()),
                    (PUBLIC_URL, public_url.is_some()),
                ]
                .into_iter()
                .filter(|(_, present)| !present)
                .map(|(name, _)| name)
                .collect();
                SignInPlan::Incomplete { source, missing }
            }
        }
    }
}

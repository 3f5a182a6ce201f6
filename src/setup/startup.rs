//! Which App credentials `serve` starts with: the environment (or flags) when it gives a
//! complete App — id, private key and webhook secret — else the credentials file the setup
//! page wrote, else none (webhooks are refused until `/setup` connects an App).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use secrecy::{ExposeSecret as _, SecretString};

use super::credentials::AppCredentials;
use crate::config::ServeSettings;
use crate::setup::sign_in_plan::{SignInPlan, SignInSource};
use crate::web::{Access, GithubSignIn};

pub enum StartCredentials {
    Environment {
        app_id: u64,
        private_key: SecretString,
        webhook_secrets: Vec<SecretString>,
    },
    File {
        path: PathBuf,
        credentials: AppCredentials,
        /// Settings the environment gave without making a complete App (they are ignored).
        ignored_env: Vec<&'static str>,
    },
    Missing {
        /// What the environment lacks for a complete App.
        missing: Vec<&'static str>,
        /// Where the setup page will write the credentials.
        file: PathBuf,
    },
}

impl StartCredentials {
    /// The App id, private key and webhook secrets to start with, if any.
    pub fn app(&self) -> Option<(u64, SecretString, Vec<SecretString>)> {
        match self {
            StartCredentials::Environment {
                app_id,
                private_key,
                webhook_secrets,
            } => Some((*app_id, private_key.clone(), webhook_secrets.clone())),
            StartCredentials::File { credentials, .. } => Some((
                credentials.id,
                credentials.pem.clone(),
                vec![credentials.webhook_secret.clone()],
            )),
            StartCredentials::Missing { .. } => None,
        }
    }

    /// The credentials file the App comes from, if it does.
    pub fn app_file(&self) -> Option<(&Path, &AppCredentials)> {
        match self {
            StartCredentials::File {
                path, credentials, ..
            } => Some((path.as_path(), credentials)),
            _ => None,
        }
    }
}

/// Dashboard sign-in with GitHub for a service starting with `start`: the environment's
/// OAuth client, else the client of the App loaded from the credentials file.
///
/// Half a configuration in the environment is an error (someone asked for sign-in and
/// would silently not get it). The credentials file always holds a client, but sign-in
/// also needs `PROMPTOPS_PUBLIC_URL`: without it sign-in stays off and the plan says why
/// (`SignInPlan::problem`), so that a service connected through `/setup` on a loopback
/// address keeps starting, and keeps its loopback-open dashboard.
pub fn start_sign_in(
    settings: &ServeSettings,
    start: &StartCredentials,
    clock: Arc<dyn promptops_core::clock::Clock>,
) -> anyhow::Result<(SignInPlan, Option<GithubSignIn>)> {
    let plan = settings.sign_in_plan(start.app_file());
    match &plan {
        SignInPlan::Off => Ok((plan, None)),
        SignInPlan::Incomplete {
            source: SignInSource::File(_),
            ..
        } => Ok((plan, None)),
        SignInPlan::Incomplete {
            source: SignInSource::Environment,
            ..
        } => Err(anyhow::anyhow!(plan.problem().unwrap_or_default())),
        SignInPlan::Ready { settings, source } => {
            let sign_in = GithubSignIn::new(settings.clone(), clock).map_err(|err| {
                anyhow::anyhow!("dashboard sign-in with GitHub ({source}): {err}")
            })?;
            Ok((plan, Some(sign_in)))
        }
    }
}

const APP_ID: &str = "GITHUB_APP_ID";
const KEY: &str = "GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_PATH";
const SECRET: &str = "GITHUB_WEBHOOK_SECRET";

pub fn start_credentials(settings: &ServeSettings) -> anyhow::Result<StartCredentials> {
    let github = &settings.github;
    let app_id = github.github_app_id;
    let key = github
        .private_key()?
        .filter(|key| !key.expose_secret().trim().is_empty());
    // A bad part stops the start even when the credentials file would serve: the
    // operator set it, and silently running with other secrets would hide the mistake.
    let secrets = github.checked_webhook_secrets()?;
    let mut given = Vec::new();
    let mut missing = Vec::new();
    for (name, present) in [
        (APP_ID, app_id.is_some()),
        (KEY, key.is_some()),
        (SECRET, !secrets.is_empty()),
    ] {
        if present {
            given.push(name);
        } else {
            missing.push(name);
        }
    }
    if let (Some(app_id), Some(private_key), false) = (app_id, key, secrets.is_empty()) {
        return Ok(StartCredentials::Environment {
            app_id,
            private_key,
            webhook_secrets: secrets,
        });
    }
    let path = settings.app_credentials_path();
    match AppCredentials::load(&path)? {
        Some(credentials) => Ok(StartCredentials::File {
            path,
            credentials,
            ignored_env: given,
        }),
        None => Ok(StartCredentials::Missing {
            missing,
            file: path,
        }),
    }
}

/// The full address of the setup page, as a person would open it: under the public URL
/// when one is set, else on the address the server listens on (a wildcard bind is reached
/// through loopback, where the setup page is open).
pub fn setup_address(listening: std::net::SocketAddr, public_url: Option<&url::Url>) -> String {
    if let Some(public) = public_url {
        return format!("{}/setup", public.as_str().trim_end_matches('/'));
    }
    format!("{}/setup", local_base(listening))
}

/// `http://<host>:<port>` for the address the server listens on, as a browser on this
/// machine reaches it.
fn local_base(listening: std::net::SocketAddr) -> String {
    let host = match listening.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => "127.0.0.1".to_owned(),
        ip if ip.is_unspecified() => "[::1]".to_owned(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        std::net::IpAddr::V4(ip) => ip.to_string(),
    };
    format!("http://{host}:{}", listening.port())
}

/// The start log's last word to an operator: where the service answers, and — while no
/// App is connected — the full address of the setup page to open. A loopback-open
/// dashboard opens only through the link with its secret: that link is logged here, in
/// one line (the setup page's while no App is connected, else the dashboard's), and in no
/// other line ever.
pub fn log_listening(
    listening: std::net::SocketAddr,
    slot: &super::AppSlot,
    public_url: Option<&url::Url>,
    access: &Access,
) {
    tracing::info!(address = %listening, "promptops is listening on http://{listening}");
    let link = access.local_link();
    if slot.load().is_none() {
        // Loopback-open pages answer only loopback host names: the public URL would not do.
        let setup = match link {
            Some(link) => link.link_to(&format!("{}/setup", local_base(listening))),
            None => setup_address(listening, public_url),
        };
        tracing::info!("no GitHub App is connected yet: open {setup} to connect one");
    } else if let Some(link) = link {
        let dashboard = link.link_to(&format!("{}/dashboard", local_base(listening)));
        tracing::info!(
            "dashboard: open {dashboard} (the link is the dashboard's only key without a token \
             or sign-in: it opens it in a browser until the service stops; keep it to yourself)"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::setup_address;

    #[test]
    fn the_setup_address_is_one_a_browser_can_open() {
        let at = |bind: &str| setup_address(bind.parse().unwrap(), None);
        assert_eq!(at("127.0.0.1:3000"), "http://127.0.0.1:3000/setup");
        assert_eq!(at("0.0.0.0:8080"), "http://127.0.0.1:8080/setup");
        assert_eq!(at("[::]:8080"), "http://[::1]:8080/setup");
        let public = url::Url::parse("https://promptops.example.com/").unwrap();
        assert_eq!(
            setup_address("0.0.0.0:80".parse().unwrap(), Some(&public)),
            "https://promptops.example.com/setup"
        );
    }
}

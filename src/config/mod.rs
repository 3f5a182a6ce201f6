//! Process settings: flags, each also settable through the environment variable the
//! handbook names. Secrets are held as `SecretString` so that they never reach a log line
//! through `Debug`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use secrecy::{ExposeSecret, SecretString};

#[derive(Debug, Clone, Args)]
pub struct GithubSettings {
    /// The GitHub App's numeric id.
    #[arg(long, env = "GITHUB_APP_ID")]
    pub github_app_id: Option<u64>,
    /// The App's private key (PEM text).
    #[arg(long, env = "GITHUB_PRIVATE_KEY", hide_env_values = true)]
    pub github_private_key: Option<SecretString>,
    /// A file holding the App's private key (PEM).
    #[arg(long, env = "GITHUB_PRIVATE_KEY_PATH")]
    pub github_private_key_path: Option<PathBuf>,
    /// Webhook secret(s). Several, separated by commas, are all accepted (secret rotation).
    #[arg(long, env = "GITHUB_WEBHOOK_SECRET", hide_env_values = true)]
    pub github_webhook_secret: Option<SecretString>,
    /// API root: GitHub Enterprise Server and tests point it elsewhere.
    #[arg(long, env = "GITHUB_API_URL", default_value = "https://api.github.com")]
    pub github_api_url: String,
    /// Web root (sign-in pages, OAuth endpoints): GitHub Enterprise Server and tests
    /// point it elsewhere.
    #[arg(long, env = "GITHUB_WEB_URL", default_value = "https://github.com")]
    pub github_web_url: String,
    /// The App's login, whose own comments are ignored (e.g. `promptops[bot]`).
    #[arg(long, env = "PROMPTOPS_BOT_LOGIN")]
    pub bot_login: Option<String>,
}

/// The shortest webhook secret accepted: a short one can be guessed, and whoever knows it
/// can sign deliveries that run commands as the App.
pub const MIN_WEBHOOK_SECRET_CHARS: usize = 16;

/// A `GITHUB_WEBHOOK_SECRET` part that cannot be used. Parts are named by position (1 is
/// the first), never by value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookSecretError {
    #[error(
        "GITHUB_WEBHOOK_SECRET part {position} of {count} is empty: separate secrets with single \
         commas, with no empty entry"
    )]
    Empty { position: usize, count: usize },
    #[error(
        "GITHUB_WEBHOOK_SECRET part {position} of {count} has {chars} characters; every webhook \
         secret needs at least {MIN_WEBHOOK_SECRET_CHARS} (GitHub's App settings accept long \
         random ones: generate one with `openssl rand -hex 32`)"
    )]
    TooShort {
        position: usize,
        count: usize,
        chars: usize,
    },
}

impl GithubSettings {
    /// The webhook secrets, each comma-separated part checked: none empty, each at least
    /// `MIN_WEBHOOK_SECRET_CHARS` long. No secret (unset or blank) is an empty list.
    pub fn checked_webhook_secrets(&self) -> Result<Vec<SecretString>, WebhookSecretError> {
        let Some(all) = self
            .github_webhook_secret
            .as_ref()
            .map(|all| all.expose_secret().trim())
            .filter(|all| !all.is_empty())
        else {
            return Ok(Vec::new());
        };
        let count = all.split(',').count();
        all.split(',')
            .map(str::trim)
            .enumerate()
            .map(|(index, part)| {
                let position = index + 1;
                let chars = part.chars().count();
                match chars {
                    0 => Err(WebhookSecretError::Empty { position, count }),
                    1..MIN_WEBHOOK_SECRET_CHARS => Err(WebhookSecretError::TooShort {
                        position,
                        count,
                        chars,
                    }),
                    _ => Ok(SecretString::from(part.to_owned())),
                }
            })
            .collect()
    }

    /// The webhook secrets, split for rotation; empty entries are dropped. Unchecked: for
    /// masking and reports, where a bad part must still be known. `serve` starts only
    /// with `checked_webhook_secrets`.
    pub fn webhook_secrets(&self) -> Vec<SecretString> {
        self.github_webhook_secret
            .as_ref()
            .map(|all| {
                all.expose_secret()
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| SecretString::from(s.to_owned()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The private key, from the variable or the file; a blank one is none. It is checked
    /// here, where its source is known: a key that cannot sign the App's JWTs (a public
    /// key, literal `\n` escapes, no PEM) is refused, naming the variable or the file.
    pub fn private_key(&self) -> anyhow::Result<Option<SecretString>> {
        let (key, source) = match (&self.github_private_key, &self.github_private_key_path) {
            (Some(key), _) => (key.clone(), "GITHUB_PRIVATE_KEY".to_owned()),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path).map_err(|err| {
                    anyhow::anyhow!(
                        "cannot read GITHUB_PRIVATE_KEY_PATH {}: {err}",
                        path.display()
                    )
                })?;
                let source = format!("GITHUB_PRIVATE_KEY_PATH {}", path.display());
                (SecretString::from(text), source)
            }
            (None, None) => return Ok(None),
        };
        if key.expose_secret().trim().is_empty() {
            return Ok(None);
        }
        promptops_github::client::signing_key(key.expose_secret())
            .map_err(|problem| anyhow::anyhow!("{source}: {problem}"))?;
        Ok(Some(key))
    }
}

#[derive(Debug, Clone, Args)]
pub struct PlannerArgs {
    /// OpenAI API key. Without one, the offline rule-based planner is used.
    #[arg(long, env = "OPENAI_API_KEY", hide_env_values = true)]
    pub openai_api_key: Option<SecretString>,
    /// Any OpenAI-compatible chat-completions server.
    #[arg(
        long,
        env = "OPENAI_BASE_URL",
        default_value = "https://api.openai.com/v1"
    )]
    pub openai_base_url: String,
    /// The model to ask (a GPT-4-family model with structured outputs).
    #[arg(long, env = "PROMPTOPS_MODEL", default_value = promptops_planner::DEFAULT_MODEL)]
    pub model: String,
    /// Seconds to wait for one model answer.
    #[arg(long, env = "PROMPTOPS_MODEL_TIMEOUT_SECS", default_value_t = 60,
          value_parser = in_range::<u64>("PROMPTOPS_MODEL_TIMEOUT_SECS", 1..=3600))]
    pub model_timeout_secs: u64,
    /// A catalog file replacing the embedded one.
    #[arg(long, env = "PROMPTOPS_CATALOG")]
    pub catalog: Option<PathBuf>,
}

impl PlannerArgs {
    pub fn planner_settings(&self, offline: bool) -> promptops_planner::PlannerSettings {
        promptops_planner::PlannerSettings {
            api_key: if offline {
                None
            } else {
                self.openai_api_key.clone()
            },
            base_url: self.openai_base_url.clone(),
            model: self.model.clone(),
            timeout: Duration::from_secs(self.model_timeout_secs),
            max_attempts: 3,
        }
    }

    pub fn load_catalog(&self) -> anyhow::Result<promptops_core::Catalog> {
        match &self.catalog {
            Some(path) => promptops_core::Catalog::load(path)
                .map_err(|err| anyhow::anyhow!("catalog {}: {err}", path.display())),
            None => Ok(promptops_core::Catalog::embedded().clone()),
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct ServeSettings {
    #[command(flatten)]
    pub github: GithubSettings,
    #[command(flatten)]
    pub planner: PlannerArgs,
    #[command(flatten)]
    pub aap: crate::aap::AapArgs,
    #[command(flatten)]
    pub http: crate::http::listener::HttpArgs,
    /// `sqlite://file.db` (default, created on start) or `postgres://...` for several replicas.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://promptops.db")]
    pub database_url: String,
    /// Address to listen on.
    #[arg(long, env = "PROMPTOPS_BIND", default_value = "127.0.0.1:3000")]
    pub bind: SocketAddr,
    /// The terraform binary.
    #[arg(long, env = "TERRAFORM_BIN", default_value = "terraform")]
    pub terraform_bin: PathBuf,
    /// Where per-run work directories and the plugin cache live.
    #[arg(long, env = "PROMPTOPS_WORKDIR", default_value = "promptops-work")]
    pub workdir: PathBuf,
    /// Longest a whole Terraform run (init through apply) may take, in seconds; a run over
    /// it is killed with its process group and reported.
    #[arg(long, env = "PROMPTOPS_TERRAFORM_TIMEOUT_SECS", default_value_t = 1800,
          value_parser = in_range::<u64>("PROMPTOPS_TERRAFORM_TIMEOUT_SECS", 1..=86_400))]
    pub terraform_timeout_secs: u64,
    /// Largest source of a commit a run takes, in MiB: GitHub's gzip'd tarball (held in
    /// memory whole; refused while it downloads once it is larger) and, again, its files
    /// once extracted. Whoever pushes a commit decides its size.
    #[arg(long, env = "PROMPTOPS_MAX_SOURCE_MIB", default_value_t = 512,
          value_parser = in_range::<u64>("PROMPTOPS_MAX_SOURCE_MIB", 1..=65536))]
    pub max_source_mib: u64,
    /// Further environment variables (comma-separated names) whose values are masked in
    /// everything posted or stored, beyond the credentials PromptOps knows of.
    #[arg(long, env = "PROMPTOPS_MASK_ENV", value_delimiter = ',')]
    pub mask_env: Vec<String>,
    /// Further variables (comma-separated names, or `PREFIX_*`) passed to Terraform besides
    /// the system, Google, Vault and AAP defaults; their values are masked like credentials.
    /// Naming one of the service's own secrets stops the start.
    #[arg(long, env = "PROMPTOPS_TERRAFORM_ENV", value_delimiter = ',')]
    pub terraform_env: Vec<String>,
    /// How Terraform is isolated: `bwrap` (bubblewrap sandbox, the default) or `off` (no
    /// isolation: Terraform can read every file this service can).
    #[arg(long, env = "PROMPTOPS_TERRAFORM_SANDBOX", default_value = "bwrap")]
    pub terraform_sandbox: promptops_terraform::SandboxMode,
    /// Paths (comma-separated) Terraform may write inside the sandbox, e.g. the directory of
    /// a local backend's state files. None may hold the App key, the credentials file, the
    /// database or the work directory.
    #[arg(long, env = "PROMPTOPS_TERRAFORM_BIND", value_delimiter = ',')]
    pub terraform_bind: Vec<PathBuf>,
    /// Paths (comma-separated) Terraform may read inside the sandbox, e.g. a launcher's
    /// installation; files named by GOOGLE_APPLICATION_CREDENTIALS, VAULT_CACERT and the
    /// like are added on their own.
    #[arg(long, env = "PROMPTOPS_TERRAFORM_BIND_RO", value_delimiter = ',')]
    pub terraform_bind_ro: Vec<PathBuf>,
    /// The binary that serves a run's Terraform steps inside its sandbox: this one, when
    /// `promptops serve` runs (set by the command line, not an option). Without it each
    /// Terraform command gets a sandbox of its own.
    #[arg(skip)]
    pub terraform_step_server: Option<PathBuf>,
    /// Jobs processed at once by this process.
    #[arg(long, env = "PROMPTOPS_WORKERS", default_value_t = 4,
          value_parser = in_range::<usize>("PROMPTOPS_WORKERS", 1..=256))]
    pub workers: usize,
    /// Seconds in-flight jobs may go on after SIGTERM before they are stopped and put back
    /// on the queue.
    #[arg(long, env = "PROMPTOPS_SHUTDOWN_GRACE_SECS", default_value_t = 30)]
    pub shutdown_grace_secs: u64,
    /// Seconds a job stopped mid-way (at shutdown, or in a process that died) waits before
    /// it runs again, so that a GitHub request it had sent lands first and is found rather
    /// than repeated. Longer than GitHub takes to finish a request (it ends them at 10 s):
    /// a shorter one is warned about at start; 0 is refused.
    #[arg(long, env = "PROMPTOPS_RESUME_PAUSE_SECS", default_value_t = 15,
          value_parser = in_range::<u64>("PROMPTOPS_RESUME_PAUSE_SECS", 1..=3600))]
    pub resume_pause_secs: u64,
    /// Days the record of a commit the App made is kept. A commit whose record is gone is
    /// taken for someone else's (a plan waits for a go-ahead, the branch is not built on
    /// again), so it only has to outlast the pull requests the App works on.
    #[arg(long, env = "PROMPTOPS_APP_COMMIT_RETENTION_DAYS",
          default_value_t = crate::pipeline::housekeeping::DEFAULT_APP_COMMIT_RETENTION_DAYS,
          value_parser = in_range::<u64>("PROMPTOPS_APP_COMMIT_RETENTION_DAYS", 1..=36_500))]
    pub app_commit_retention_days: u64,
    /// Read token for the web dashboard (`/dashboard`). Without one the dashboard is
    /// served only when `bind` is a loopback address.
    #[arg(long, env = "PROMPTOPS_DASHBOARD_TOKEN", hide_env_values = true)]
    pub dashboard_token: Option<SecretString>,
    /// `/metrics` answers only requests carrying `Authorization: Bearer
    /// <PROMPTOPS_DASHBOARD_TOKEN>` (which must then be set).
    #[arg(long, env = "PROMPTOPS_METRICS_REQUIRE_TOKEN", default_value_t = false)]
    pub metrics_require_token: bool,
    /// The GitHub App's OAuth client id: with its secret, people sign in to the dashboard
    /// with GitHub, and only members of one of the App's installations are let in.
    #[arg(long, env = "GITHUB_CLIENT_ID")]
    pub github_client_id: Option<String>,
    /// The GitHub App's OAuth client secret (also the root of the dashboard's session key).
    #[arg(long, env = "GITHUB_CLIENT_SECRET", hide_env_values = true)]
    pub github_client_secret: Option<SecretString>,
    /// The address people reach this service at (e.g. `https://promptops.example.com`):
    /// GitHub sends the browser back to `<it>/dashboard/oauth/callback`.
    #[arg(long, env = "PROMPTOPS_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Log as JSON lines.
    #[arg(long, env = "PROMPTOPS_LOG_JSON", default_value_t = false)]
    pub log_json: bool,
    /// The App credentials file the setup page writes (mode 0600) and `serve` reads when
    /// the environment gives no App credentials. Default: `promptops-app.json` beside the
    /// SQLite database, or in the working directory with PostgreSQL.
    #[arg(long, env = "PROMPTOPS_APP_CREDENTIALS")]
    pub app_credentials: Option<PathBuf>,
}

impl ServeSettings {
    /// `PROMPTOPS_PUBLIC_URL`, parsed; the setup page registers `<it>/webhook` and
    /// `<it>/setup/callback` with the App.
    pub fn public_url_parsed(&self) -> anyhow::Result<Option<url::Url>> {
        let Some(text) = self
            .public_url
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        else {
            return Ok(None);
        };
        let url = url::Url::parse(text).map_err(|err| {
            anyhow::anyhow!(
                "PROMPTOPS_PUBLIC_URL {text:?} is not a URL ({err}); give the address GitHub reaches this service at, e.g. https://promptops.example.com"
            )
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            anyhow::bail!(
                "PROMPTOPS_PUBLIC_URL {text:?} must be an http(s) address with a host, e.g. https://promptops.example.com"
            );
        }
        Ok(Some(url))
    }

    /// Refuses an in-memory database, or a SQLite URL without a file: `serve` acknowledges
    /// a delivery only once it is stored, and the deliveries, queued jobs, locks and expiry
    /// dates of such a database would all be gone at the next restart, without a word.
    pub fn durable_database(&self) -> anyhow::Result<()> {
        if promptops_store::is_in_memory(&self.database_url) {
            anyhow::bail!(
                "DATABASE_URL {} is an in-memory database: every acknowledged delivery, queued job, lock and expiry date would be lost when the service stops; give a file (sqlite:///var/lib/promptops/promptops.db) or a PostgreSQL server (postgres://user@host/db)",
                redact_url(&self.database_url)
            );
        }
        let sqlite = self.database_url.starts_with("sqlite:");
        if sqlite && sqlite_file(&self.database_url).is_none() {
            // SQLite opens an empty file name as a private temporary database, one per
            // connection, deleted when it closes.
            anyhow::bail!(
                "DATABASE_URL {} names no database file: SQLite would use a temporary database that is deleted when the service stops, with every acknowledged delivery, queued job, lock and expiry date; give a file (sqlite:///var/lib/promptops/promptops.db, or sqlite://promptops.db in the working directory) or a PostgreSQL server (postgres://user@host/db)",
                redact_url(&self.database_url)
            );
        }
        Ok(())
    }

    /// The SQLite database file, when the database is SQLite on a file.
    pub fn sqlite_database_file(&self) -> Option<PathBuf> {
        sqlite_file(&self.database_url)
    }

    /// Where the App credentials file is (or would be written).
    pub fn app_credentials_path(&self) -> PathBuf {
        if let Some(path) = &self.app_credentials {
            return path.clone();
        }
        let file = APP_CREDENTIALS_FILE;
        sqlite_file(&self.database_url)
            .and_then(|db| db.parent().map(|dir| dir.join(file)))
            .unwrap_or_else(|| PathBuf::from(file))
    }
}

/// A whole number within `range`, refused with a message naming the setting by its
/// variable (as most operators set them) and giving the bounds; clap adds the flag and the
/// value given.
pub(crate) fn in_range<T: TryFrom<u64>>(
    setting: &'static str,
    range: std::ops::RangeInclusive<u64>,
) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static {
    move |text| {
        let refused = || {
            format!(
                "{setting} must be a whole number from {} to {}",
                range.start(),
                range.end()
            )
        };
        let value: u64 = text.trim().parse().map_err(|_| refused())?;
        if !range.contains(&value) {
            return Err(refused());
        }
        T::try_from(value).map_err(|_| refused())
    }
}

/// Hides the password of a database URL.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// The App credentials file's name when `PROMPTOPS_APP_CREDENTIALS` does not give a path.
pub const APP_CREDENTIALS_FILE: &str = "promptops-app.json";

/// The database file of a `sqlite://<path>[?options]` URL; `None` for an in-memory one.
fn sqlite_file(database_url: &str) -> Option<PathBuf> {
    let rest = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && !promptops_store::is_in_memory(database_url)).then(|| PathBuf::from(path))
}

#[cfg(test)]
mod tests;

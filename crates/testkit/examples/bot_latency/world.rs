//! The world a benchmark run drives: the stateful fake GitHub in this process (zero
//! latency), the repository with the fixture module and settings, the real `promptops
//! serve` binary as a child process, and signed webhook deliveries built from GitHub's
//! example payloads.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use promptops_testkit::bare_terraform::Module;
use promptops_testkit::{
    CommentedIssue, FakeGithub, issue_comment_payload, pull_request_payload, sign_webhook,
};
use serde_json::{Value, json};

pub const REPO: &str = "Codertocat/Hello-World";
const OWNER: &str = "Codertocat";
const INSTALLATION: u64 = 4242;
/// The person who comments, pushes and merges.
pub const PERSON: &str = "alice";

/// What the driver was told to run.
pub struct Settings {
    /// The `promptops` binary (a release build, as operators run it).
    pub promptops: PathBuf,
    /// The `terraform` binary the bot and the bare runs use.
    pub terraform: PathBuf,
    /// Paths Terraform may read inside the sandbox (a launcher's virtualenv), if any.
    pub terraform_read_paths: Vec<PathBuf>,
    /// `PROMPTOPS_WORKERS` for the bot (its default when unset).
    pub workers: Option<usize>,
    /// What every GitHub request costs on top of the loopback (`BENCH_GITHUB_RTT_MS`,
    /// default zero): shows what the bot's sequential requests cost against the real API.
    pub github_round_trip: std::time::Duration,
    /// The root module the repository holds under `terraform/` (the fixture, or the
    /// repository's own on the chain) and Terraform's environment for it.
    pub module: Module,
    /// What the service's environment holds beyond the defaults (the chain's).
    pub serve_env: Vec<(String, String)>,
    /// The chain's services, kept running for the benchmark (`BENCH_MODULE=chain`).
    pub chain: Option<crate::chain::ChainStack>,
}

impl Settings {
    /// Whether the merge → apply step is measured: not on the chain, where an apply
    /// starts machines and the configuration job (whose time is the playbook's, not
    /// Terraform's nor the bot's), and the bare apply would start as many again.
    pub fn with_apply(&self) -> bool {
        self.chain.is_none()
    }
}

pub struct World {
    pub github: FakeGithub,
    pub scratch: tempfile::TempDir,
    serve: Child,
    base: String,
    http: reqwest::Client,
    secret: String,
}

impl World {
    pub async fn start(settings: &Settings) -> anyhow::Result<World> {
        let github = FakeGithub::start().await;
        github.set_round_trip(settings.github_round_trip);
        github.add_repo(REPO);
        github.add_installation(INSTALLATION, OWNER);
        github.set_permission(REPO, PERSON, "write");
        github.set_commit_author(Some(PERSON));
        let scratch = tempfile::tempdir()?;
        std::fs::create_dir_all(scratch.path().join("state"))?;
        let repo_settings = format!(
            "terraform:\n  backend_config:\n    path: \"{}/{{deployment}}.tfstate\"\n",
            scratch.path().join("state").display()
        );
        let module: Vec<(String, &[u8])> = settings
            .module
            .files
            .iter()
            .map(|(path, content)| {
                let path = Path::new("terraform").join(path);
                (path.display().to_string(), content.as_slice())
            })
            .collect();
        let mut files: Vec<(&str, Option<&[u8]>)> = module
            .iter()
            .map(|(path, content)| (path.as_str(), Some(*content)))
            .collect();
        files.push((".github/promptops.yml", Some(repo_settings.as_bytes())));
        github.commit_files(
            REPO,
            "main",
            &files,
            "Add the root module and PromptOps settings",
        );
        let secret = format!("bench-secret-{:016x}", fastrand::u64(..));
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let serve = serve_command(settings, &github, scratch.path(), port, &secret)?
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(scratch.path().join("serve.log"))?)
            .spawn()?;
        let world = World {
            github,
            scratch,
            serve,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
            secret,
        };
        world.wait_ready().await?;
        Ok(world)
    }

    async fn wait_ready(&self) -> anyhow::Result<()> {
        for _ in 0..600 {
            if let Ok(response) = self.http.get(format!("{}/readyz", self.base)).send().await
                && response.status() == 200
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!(
            "promptops serve did not answer /readyz within 30 s; its log: {}",
            self.scratch.path().join("serve.log").display()
        )
    }

    /// Waits until the bot has no job running or due, read from its `/metrics` (the queue
    /// gauges). A job goes on after its last visible write (the plan job reads the PR
    /// once more and records its outcome in the queue), and a delivery sent in that tail
    /// would time the end of the previous job, not a person's next step.
    pub async fn until_idle(&self, timeout: Duration) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let text = self
                .http
                .get(format!("{}/metrics", self.base))
                .send()
                .await?
                .error_for_status()?
                .text()
                .await?;
            let busy = ["running", "due"].iter().any(|state| {
                let series = format!("promptops_queue_jobs{{state=\"{state}\"}} ");
                text.lines()
                    .find_map(|line| line.strip_prefix(&series))
                    .is_none_or(|count| count.trim() != "0")
            });
            if !busy {
                return Ok(());
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "the bot still had jobs running or due after {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Posts a signed delivery; anything but 202 is an error.
    pub async fn deliver(&self, event: &str, payload: &Value) -> anyhow::Result<()> {
        let body = serde_json::to_vec(payload)?;
        let response = self
            .http
            .post(format!("{}/webhook", self.base))
            .header("content-type", "application/json")
            .header("x-github-event", event)
            .header("x-github-delivery", format!("{:032x}", fastrand::u128(..)))
            .header("x-hub-signature-256", sign_webhook(&self.secret, &body))
            .body(body)
            .send()
            .await?;
        anyhow::ensure!(
            response.status() == 202,
            "the {event} delivery was answered {}: {}",
            response.status(),
            response.text().await.unwrap_or_default()
        );
        Ok(())
    }

    /// `issue_comment.created`: `body` by [`PERSON`] on issue `number`.
    pub fn comment_payload(&self, number: u64, title: &str, issue_body: &str, body: &str) -> Value {
        let issue = CommentedIssue {
            repo: REPO,
            number,
            title,
            body: issue_body,
            is_pull_request: false,
        };
        issue_comment_payload(INSTALLATION, &issue, PERSON, body)
    }

    /// `pull_request.<action>` for PR `number` as the fake holds it now, sent by `sender`.
    pub fn pr_payload(&self, action: &str, number: u64, sender: &str) -> anyhow::Result<Value> {
        let mut payload = pull_request_payload(&self.github, REPO, INSTALLATION, action, number)
            .ok_or_else(|| anyhow::anyhow!("the fake GitHub has no PR #{number}"))?;
        payload["sender"]["login"] = json!(sender);
        Ok(payload)
    }

    /// Where the bot's log ends now: [`World::terraform_time_since`] reads what comes after.
    pub fn log_offset(&self) -> u64 {
        std::fs::metadata(self.scratch.path().join("serve.log")).map_or(0, |m| m.len())
    }

    /// The wall time of the Terraform commands the bot ran since `offset` of its log (the
    /// runner's `terraform step finished` lines, logged at debug for
    /// `promptops_terraform::runner::step`); `None` when there is none.
    pub fn terraform_time_since(&self, offset: u64) -> Option<Duration> {
        let log = std::fs::read(self.scratch.path().join("serve.log")).ok()?;
        let start = usize::try_from(offset).ok()?.min(log.len());
        let text = String::from_utf8_lossy(&log[start..]);
        let total_ms: f64 = text
            .lines()
            .filter(|line| line.contains("terraform step finished"))
            .filter_map(|line| {
                let plain = strip_ansi(line);
                let value = plain.split("elapsed_ms=").nth(1)?;
                let number: String = value
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || *c == '.')
                    .collect();
                number.parse::<f64>().ok()
            })
            .sum();
        (total_ms > 0.0).then(|| Duration::from_secs_f64(total_ms / 1e3))
    }

    /// The last `lines` lines of the bot's log, to show with a failed step.
    pub fn serve_log_tail(&self, lines: usize) -> String {
        let log =
            std::fs::read_to_string(self.scratch.path().join("serve.log")).unwrap_or_default();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Stops the bot (SIGTERM) and waits for it.
    pub fn stop(mut self) -> anyhow::Result<()> {
        let pid = self.serve.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status()?;
        self.serve.wait()?;
        self.keep_log()
    }

    /// With `BENCH_SERVE_LOG=<file>`, copies the bot's log there (it goes with the scratch
    /// dir): at the end, and when a run fails.
    pub fn keep_log(&self) -> anyhow::Result<()> {
        if let Some(keep) = std::env::var_os("BENCH_SERVE_LOG") {
            std::fs::copy(self.scratch.path().join("serve.log"), keep)?;
        }
        Ok(())
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = self.serve.kill();
        let _ = self.serve.wait();
    }
}

/// `line` without terminal colour sequences (`ESC [ ... m`).
fn strip_ansi(line: &str) -> String {
    let mut plain = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}

/// `promptops serve` as an operator would start it on this machine: the fake's App, a
/// SQLite database, Terraform in its sandbox with the state directory writable, the
/// offline planner (no model key).
fn serve_command(
    settings: &Settings,
    github: &FakeGithub,
    dir: &Path,
    port: u16,
    secret: &str,
) -> anyhow::Result<Command> {
    let key_path = dir.join("app.pem");
    std::fs::write(&key_path, github.private_key_pem())?;
    let mut command = Command::new(&settings.promptops);
    command
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        // The runner's step lines give the bot's own Terraform time (the report's "own"
        // column); BENCH_RUST_LOG=promptops_terraform=debug shows where a run's time goes.
        .env(
            "RUST_LOG",
            std::env::var("BENCH_RUST_LOG")
                .unwrap_or_else(|_| "info,promptops_terraform::runner::step=debug".into()),
        )
        .env("GITHUB_APP_ID", github.app_id().to_string())
        .env("GITHUB_PRIVATE_KEY_PATH", &key_path)
        .env("GITHUB_WEBHOOK_SECRET", secret)
        .env("GITHUB_API_URL", github.url())
        .env("PROMPTOPS_BOT_LOGIN", github.bot_login())
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/promptops.db", dir.display()),
        )
        .env("PROMPTOPS_BIND", format!("127.0.0.1:{port}"))
        .env("PROMPTOPS_WORKDIR", dir.join("work"))
        .env("TERRAFORM_BIN", &settings.terraform)
        .env("PROMPTOPS_TERRAFORM_BIND", dir.join("state"));
    if !settings.terraform_read_paths.is_empty() {
        let paths: Vec<String> = settings
            .terraform_read_paths
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        command.env("PROMPTOPS_TERRAFORM_BIND_RO", paths.join(","));
    }
    // PROMPTOPS_TERRAFORM_SANDBOX=off shows what the sandbox's start costs per step.
    if let Some(sandbox) = std::env::var_os("PROMPTOPS_TERRAFORM_SANDBOX") {
        command.env("PROMPTOPS_TERRAFORM_SANDBOX", sandbox);
    }
    if let Some(workers) = settings.workers {
        command.env("PROMPTOPS_WORKERS", workers.to_string());
    }
    command.envs(settings.serve_env.iter().map(|(k, v)| (k, v)));
    Ok(command)
}

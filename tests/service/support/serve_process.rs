//! The real `promptops serve` binary, configured through the environment as an operator
//! would: the fake GitHub's App (id, key, API URL), a fresh SQLite database, a free
//! loopback port. Killed when dropped; `stop` sends SIGTERM and returns how it ended.
//!
//! Its log (stderr) is read as it is written, by a thread of its own: a pipe holds 64 KiB,
//! and a process whose log pipe is full blocks in its next log line — a tokio worker stuck
//! in `write(2)` stalls whatever runs on it, so deliveries went unanswered on a disk-full
//! run that logs a warning per refused write.

use std::io::Read as _;
use std::path::Path;
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use promptops_testkit::FakeGithub;

use super::SECRET;

/// How long a started process may take to answer `/readyz`. A debug build is ready in a
/// second or two on an idle machine; with builds running beside the suite a restart has
/// taken several times that, so this only bounds how long a process that never becomes
/// ready is waited for (one that exits is reported at once).
const READY_WITHIN: Duration = Duration::from_secs(120);

pub struct ServeProcess {
    /// `None` once `stop` has taken it.
    child: Option<Child>,
    /// Reads stderr until the process closes it; returns everything read. `None` once
    /// taken, or when the log is left unread.
    log: Option<JoinHandle<String>>,
    /// What the log reader has read so far.
    log_so_far: Arc<Mutex<Vec<u8>>>,
    /// The read ends of stdout and stderr when they are left unread: kept open, so that
    /// the pipes fill instead of breaking.
    unread: Option<(ChildStdout, ChildStderr)>,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    _dir: tempfile::TempDir,
}

/// `promptops serve` configured as `ServeProcess` starts it (the fake's App, a database
/// and work directory in `dir`, listening on `bind`), then `env`.
pub fn serve_command(
    github: &FakeGithub,
    dir: &Path,
    bind: &str,
    env: &[(&str, String)],
) -> Command {
    let key_path = dir.join("app.pem");
    std::fs::write(&key_path, github.private_key_pem()).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_promptops"));
    command
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GITHUB_APP_ID", github.app_id().to_string())
        .env("GITHUB_PRIVATE_KEY_PATH", &key_path)
        .env("GITHUB_WEBHOOK_SECRET", SECRET)
        .env("GITHUB_API_URL", github.url())
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/promptops.db", dir.display()),
        )
        .env("PROMPTOPS_BIND", bind)
        .env("PROMPTOPS_WORKDIR", dir.join("work"));
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

/// Posts `payload` to `<base>/webhook` as GitHub would (event and delivery headers, signed
/// with the test secret); returns the answer's status.
pub async fn deliver_to(
    base: &str,
    event: &str,
    delivery_id: &str,
    payload: &serde_json::Value,
) -> reqwest::StatusCode {
    let body = serde_json::to_vec(payload).unwrap();
    reqwest::Client::new()
        .post(format!("{base}/webhook"))
        .header("x-github-event", event)
        .header("x-github-delivery", delivery_id)
        .header(
            "x-hub-signature-256",
            promptops_testkit::sign_webhook(SECRET, &body),
        )
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
}

/// A loopback port free at the time of asking.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `promptops serve` with no App settings at all (a first run), a database and work
/// directory in `dir`, listening on `127.0.0.1:<port>`.
pub fn unconfigured_serve_command(dir: &Path, port: u16) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_promptops"));
    command
        .arg("serve")
        .env_clear()
        .env("DATABASE_URL", format!("sqlite://{}/p.db", dir.display()))
        .env("PROMPTOPS_BIND", format!("127.0.0.1:{port}"))
        .env("PROMPTOPS_WORKDIR", dir.join("work"));
    command
}

impl ServeProcess {
    /// Starts `promptops serve <args>` and waits until `/readyz` answers 200. `env` is set
    /// after the defaults, so it may override them (e.g. `GITHUB_WEBHOOK_SECRET`).
    pub async fn start(github: &FakeGithub, args: &[&str], env: &[(&str, String)]) -> Self {
        Self::start_with(github, args, env, Log::Read).await
    }

    /// As `start`, with the log read or left unread.
    pub async fn start_with(
        github: &FakeGithub,
        args: &[&str],
        env: &[(&str, String)],
        log: Log,
    ) -> Self {
        let (process, status, body) = Self::spawn(github, args, env, log).await;
        assert_eq!(status, 200, "serve is up but not ready: {body}");
        process
    }

    /// Starts `promptops serve <args>` as `start` does, but expects it up and *not* ready:
    /// returns `/readyz`'s 503 answer with the process.
    pub async fn start_unready(
        github: &FakeGithub,
        args: &[&str],
        env: &[(&str, String)],
    ) -> (Self, String) {
        let (process, status, body) = Self::spawn(github, args, env, Log::Read).await;
        assert_eq!(status, 503, "serve is ready: {body}");
        (process, body)
    }

    /// The loopback-open dashboard's link, from the start line that logs it (the log must
    /// be read: `Log::Read`).
    pub async fn local_link(&self) -> String {
        wait_for_local_link(&self.log_so_far).await
    }

    /// Opens the loopback-open dashboard's link; the cookie it leaves, as `name=value`.
    pub async fn local_cookie(&self) -> String {
        super::local_link::open_local_link(&self.local_link().await).await
    }

    /// Posts `payload` to this process's `/webhook`; see [`deliver_to`].
    pub async fn deliver(
        &self,
        event: &str,
        delivery_id: &str,
        payload: &serde_json::Value,
    ) -> reqwest::StatusCode {
        deliver_to(&self.base, event, delivery_id, payload).await
    }

    /// Spawns the process and waits for its first answer to `/readyz`.
    async fn spawn(
        github: &FakeGithub,
        args: &[&str],
        env: &[(&str, String)],
        log: Log,
    ) -> (Self, u16, String) {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut command = serve_command(github, dir.path(), &format!("127.0.0.1:{port}"), env);
        command.args(args);
        let mut process = ServeProcess {
            child: None,
            log: None,
            log_so_far: Arc::default(),
            unread: None,
            base: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        };
        let mut child = match log {
            Log::Read => command.stdout(Stdio::null()),
            Log::Unread => command.stdout(Stdio::piped()),
        }
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
        let stderr = child.stderr.take().expect("stderr is piped");
        match log {
            Log::Read => process.log = Some(read_log(stderr, process.log_so_far.clone())),
            Log::Unread => {
                let stdout = child.stdout.take().expect("stdout is piped");
                process.unread = Some((stdout, stderr));
            }
        }
        process.child = Some(child);
        let http = reqwest::Client::new();
        let started = std::time::Instant::now();
        while started.elapsed() < READY_WITHIN {
            if let Ok(response) = http.get(format!("{}/readyz", process.base)).send().await {
                let status = response.status().as_u16();
                let body = response.text().await.unwrap_or_default();
                return (process, status, body);
            }
            let child = process.child.as_mut().expect("just spawned");
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "serve exited ({status}) before answering /readyz:\n{}",
                    process.log_read_so_far()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "serve did not answer /readyz within {READY_WITHIN:?}:\n{}",
            process.log_read_so_far()
        );
    }

    /// What the log reader has read so far (nothing when the log is left unread).
    fn log_read_so_far(&self) -> String {
        String::from_utf8_lossy(&self.log_so_far.lock().unwrap()).into_owned()
    }

    /// The names of the process's threads that wait in a write to a full pipe (the
    /// kernel's wait channel `pipe_write` or `anon_pipe_write`).
    pub fn threads_waiting_on_a_pipe(&self) -> Vec<String> {
        let tasks = std::fs::read_dir(format!("/proc/{}/task", self.pid())).unwrap();
        tasks
            .filter_map(|task| {
                let task = task.ok()?.path();
                let waits = std::fs::read_to_string(task.join("wchan")).ok()?;
                waits.contains("pipe_write").then(|| {
                    let name = std::fs::read_to_string(task.join("comm")).unwrap_or_default();
                    name.trim().to_owned()
                })
            })
            .collect()
    }

    /// Bytes written to stderr and not read yet (`Log::Unread`).
    pub fn unread_log_bytes(&self) -> usize {
        use std::os::fd::AsRawFd as _;
        let (_, stderr) = self.unread.as_ref().expect("started with Log::Unread");
        let mut pending: libc::c_int = 0;
        // SAFETY: FIONREAD on an open pipe writes one c_int, here a valid local.
        let status = unsafe { libc::ioctl(stderr.as_raw_fd(), libc::FIONREAD, &mut pending) };
        assert_eq!(status, 0, "ioctl(FIONREAD) on the log pipe failed");
        usize::try_from(pending).unwrap()
    }

    /// The process id (for `/proc/<pid>/status`).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// SIGTERM, then waits for the exit; returns the exit status and everything it logged.
    pub async fn stop(mut self) -> (ExitStatus, String) {
        let mut child = self.child.take().expect("stopped once");
        let pid = child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success(), "kill -TERM {pid} failed");
        let log = self.log.take();
        tokio::task::spawn_blocking(move || {
            let status = child.wait().unwrap();
            (status, log.map(joined).unwrap_or_default())
        })
        .await
        .unwrap()
    }
}

impl ServeProcess {
    /// SIGKILL (`kill -9`): no shutdown code runs. Returns everything it logged.
    pub async fn kill(mut self) -> String {
        let mut child = self.child.take().expect("stopped once");
        child.kill().unwrap();
        let log = self.log.take();
        tokio::task::spawn_blocking(move || {
            let _ = child.wait();
            log.map(joined).unwrap_or_default()
        })
        .await
        .unwrap()
    }
}

/// The loopback-open link in the log read so far (see `read_log`), once it is there.
pub async fn wait_for_local_link(so_far: &Mutex<Vec<u8>>) -> String {
    let log = || String::from_utf8_lossy(&so_far.lock().unwrap()).into_owned();
    for _ in 0..200 {
        if let Some(link) = local_link_in(&log()) {
            return link;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("serve logged no link with ?access= within 10 s:\n{}", log());
}

/// The first address in `log` that carries `?access=`.
pub fn local_link_in(log: &str) -> Option<String> {
    let at = log.find("?access=")?;
    let start = log[..at].rfind("http://")?;
    let end = log[at..]
        .find(|c: char| c.is_whitespace() || c == '"')
        .map_or(log.len(), |end| at + end);
    Some(log[start..end].to_owned())
}

/// Whether the test reads the process's log as it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Log {
    /// Read by a thread of its own; `stop` and `kill` return it.
    Read,
    /// stdout and stderr are pipes nobody reads: they fill after 64 KiB each.
    Unread,
}

/// Reads `stderr` on a thread of its own until the process closes it, keeping what it
/// read so far in `so_far`; returns everything read.
pub fn read_log(mut stderr: ChildStderr, so_far: Arc<Mutex<Vec<u8>>>) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        while let Ok(read @ 1..) = stderr.read(&mut chunk) {
            so_far.lock().unwrap().extend_from_slice(&chunk[..read]);
        }
        String::from_utf8_lossy(&so_far.lock().unwrap()).into_owned()
    })
}

fn joined(log: JoinHandle<String>) -> String {
    log.join().unwrap_or_default()
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
        }
    }
}

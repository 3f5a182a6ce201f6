//! The runner's side: the sandbox with the step server in it, started once per run, and
//! one step at a time through it, with the run's deadline.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustix::process::Pid;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::time::Instant;

use super::{Frame, StepRequest, read_frame};
use crate::capture::OutputCapture;
use crate::process::{Exit, SpawnError, in_new_session, kill_session, terminate_gracefully};

/// How much of what the sandbox itself prints (bubblewrap's complaints) is kept to
/// explain why it ended.
const STDERR_KEPT: usize = 8 * 1024;

/// A running sandbox with a step server in it.
pub(crate) struct StepSession {
    child: Child,
    leader: Option<Pid>,
    requests: ChildStdin,
    frames: BufReader<ChildStdout>,
    stderr: Arc<Mutex<Vec<u8>>>,
    /// The task reading the sandbox's stderr into `stderr`; done once the sandbox is gone.
    stderr_reader: tokio::task::JoinHandle<()>,
    /// The server's command name, spared the graceful stop so that it reports the end.
    server_name: String,
    /// The terraform binary, for messages.
    terraform: String,
    /// Set when the sandbox ended or was stopped: no later step can run in it.
    ended: bool,
}

/// How the wait for a step ended.
enum Waited {
    Frame(std::io::Result<Option<Frame>>),
    Deadline,
}

impl StepSession {
    /// Starts `program args` (bubblewrap, with the server inside) in a session of its
    /// own, with exactly `env`; `server` is the server binary and `terraform` the binary
    /// it runs.
    pub fn start(
        (program, args): (PathBuf, Vec<OsString>),
        cwd: &Path,
        env: Vec<(OsString, OsString)>,
        (server, terraform): (&Path, &Path),
    ) -> std::io::Result<StepSession> {
        let mut command = Command::new(&program);
        command
            .args(args)
            .current_dir(cwd)
            .env_clear()
            .envs(env)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        in_new_session(&mut command);
        let mut child = command.spawn()?;
        let taken = (child.stdin.take(), child.stdout.take(), child.stderr.take());
        let (Some(requests), Some(frames), Some(mut stderr_pipe)) = taken else {
            return Err(std::io::Error::other("the sandbox's pipes were not set up"));
        };
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&stderr);
        let stderr_reader = tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr_pipe.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                let mut kept = kept.lock().unwrap_or_else(|p| p.into_inner());
                let room = STDERR_KEPT.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
        });
        let leader = child.id().and_then(|id| Pid::from_raw(id as i32));
        // The kernel keeps the first 15 bytes of a command name.
        let server_name: String = server
            .file_name()
            .map(|name| name.to_string_lossy().chars().take(15).collect())
            .unwrap_or_default();
        Ok(StepSession {
            child,
            leader,
            requests,
            frames: BufReader::with_capacity(128 * 1024, frames),
            stderr,
            stderr_reader,
            server_name,
            terraform: terraform.display().to_string(),
            ended: false,
        })
    }

    /// Whether the sandbox is still there to take a step.
    pub fn is_running(&mut self) -> bool {
        !self.ended && matches!(self.child.try_wait(), Ok(None))
    }

    /// Runs one step until it ends or `deadline` passes (then its processes are asked to
    /// stop, and killed with the sandbox after `kill_grace`); gives the capture back.
    pub async fn run(
        &mut self,
        request: &StepRequest,
        mut capture: OutputCapture,
        deadline: Instant,
        (timeout, kill_grace): (Duration, Duration),
    ) -> Result<(Exit, OutputCapture), SpawnError> {
        if self.ended {
            return Err(self.output_error("the run's sandbox ended before this step".into()));
        }
        let mut line = serde_json::to_vec(request)
            .map_err(std::io::Error::other)
            .map_err(|source| self.start_error(source))?;
        line.push(b'\n');
        let sent = async {
            self.requests.write_all(&line).await?;
            self.requests.flush().await
        };
        if let Err(err) = sent.await {
            self.ended = true;
            return Err(self.gone(format!("it took no request ({err})")).await);
        }
        loop {
            let waited = tokio::select! {
                frame = read_frame(&mut self.frames) => Waited::Frame(frame),
                _ = tokio::time::sleep_until(deadline) => Waited::Deadline,
            };
            match waited {
                Waited::Frame(Ok(Some(Frame::Output(data)))) => capture
                    .push(&data)
                    .map_err(|source| self.output_error(source.to_string()))?,
                Waited::Frame(Ok(Some(Frame::Exited(code)))) => {
                    return Ok((Exit::Code(code), capture));
                }
                Waited::Frame(Ok(Some(Frame::Signaled(signal)))) => {
                    return Ok((Exit::Signal(signal), capture));
                }
                Waited::Frame(Ok(Some(Frame::NotStarted(message)))) => {
                    return Err(self.start_error(std::io::Error::other(message)));
                }
                Waited::Frame(Ok(None)) => {
                    self.ended = true;
                    return Err(self.gone("it ended during the step".into()).await);
                }
                Waited::Frame(Err(err)) => {
                    self.ended = true;
                    self.kill();
                    return Err(self.output_error(err.to_string()));
                }
                Waited::Deadline => {
                    let capture = self.stop(capture, kill_grace).await;
                    let after_secs = timeout.as_secs();
                    return Ok((Exit::TimedOut { after_secs }, capture));
                }
            }
        }
    }

    /// The deadline passed: asks the step's processes to stop (Terraform releases its
    /// state lock on SIGTERM), keeps what they print for `kill_grace`, then kills the
    /// sandbox.
    async fn stop(&mut self, mut capture: OutputCapture, kill_grace: Duration) -> OutputCapture {
        self.ended = true;
        if let Some(leader) = self.leader {
            terminate_gracefully(leader, &[self.server_name.as_str()]);
        }
        let grace = Instant::now() + kill_grace;
        loop {
            let waited = tokio::select! {
                frame = read_frame(&mut self.frames) => Waited::Frame(frame),
                _ = tokio::time::sleep_until(grace) => Waited::Deadline,
            };
            match waited {
                Waited::Frame(Ok(Some(Frame::Output(data)))) => {
                    let _ = capture.push(&data);
                }
                _ => break,
            }
        }
        self.kill();
        capture
    }

    fn kill(&mut self) {
        if let Some(leader) = self.leader {
            kill_session(leader);
        }
        let _ = self.child.start_kill();
    }

    /// The sandbox is gone: what it said about why (bubblewrap prints its own errors).
    async fn gone(&mut self, what: String) -> SpawnError {
        let status = tokio::time::timeout(Duration::from_secs(1), self.child.wait()).await;
        // Its last words are read once its stderr closes.
        let _ = tokio::time::timeout(Duration::from_secs(1), &mut self.stderr_reader).await;
        let said = String::from_utf8_lossy(&self.stderr.lock().unwrap_or_else(|p| p.into_inner()))
            .trim()
            .to_owned();
        let ended = match status {
            Ok(Ok(status)) => format!(", {status}"),
            _ => String::new(),
        };
        let said = if said.is_empty() {
            String::new()
        } else {
            format!(": {said}")
        };
        self.start_error(std::io::Error::other(format!(
            "the run's sandbox failed: {what}{ended}{said}"
        )))
    }

    fn start_error(&self, source: std::io::Error) -> SpawnError {
        SpawnError::Start {
            program: self.terraform.clone(),
            source,
        }
    }

    fn output_error(&self, message: String) -> SpawnError {
        SpawnError::Output {
            program: self.terraform.clone(),
            source: std::io::Error::other(message),
        }
    }
}

impl Drop for StepSession {
    /// `kill_on_drop` ends bubblewrap alone. A sandbox dropped just after its start (its
    /// run or spare gone meanwhile) can lose bubblewrap before the process inside has armed
    /// `--die-with-parent`, and that process would live on: end the whole session. Only
    /// while bubblewrap is not yet reaped, so its pid still names this session.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.kill();
        }
    }
}

//! Running one terraform command: its own session and process group, stdout and stderr merged into one
//! pipe (so lines keep their order), streamed into an [`OutputCapture`], killed with the
//! whole group at the deadline.

use std::ffi::OsString;
use std::io::Read;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustix::process::{Pid, Signal, kill_process, kill_process_group};
use tokio::process::{Child, Command};
use tokio::time::Instant;

use crate::capture::OutputCapture;

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// The process exited with this code.
    Code(i32),
    /// The process was ended by this signal (not by us).
    Signal(i32),
    /// The run's deadline passed; the process group was killed.
    TimedOut {
        /// The run's timeout, in seconds.
        after_secs: u64,
    },
}

/// One command to run, with exactly the environment in `env`.
pub struct Invocation {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub cwd: PathBuf,
    pub env: Vec<(OsString, OsString)>,
    /// Where stdout goes instead of the capture (e.g. `show -json` into a file).
    pub stdout_file: Option<PathBuf>,
}

/// Error starting or watching a command (not a non-zero exit).
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    #[error("could not start {program}: {source}")]
    Start {
        program: String,
        source: std::io::Error,
    },
    #[error("could not read the output of {program}: {source}")]
    Output {
        program: String,
        source: std::io::Error,
    },
}

/// Runs `invocation` until it exits or `deadline` passes; returns how it ended and gives
/// the capture back.
pub async fn run(
    invocation: Invocation,
    capture: OutputCapture,
    deadline: Instant,
    timeout: Duration,
    kill_grace: Duration,
) -> Result<(Exit, OutputCapture), SpawnError> {
    let program = invocation.program.display().to_string();
    let start_err = |source| SpawnError::Start {
        program: program.clone(),
        source,
    };
    let (reader, writer) = std::io::pipe().map_err(start_err)?;
    let mut child = spawn(invocation, writer).map_err(start_err)?;
    let pgid = child.id().and_then(|id| Pid::from_raw(id as i32));

    // The reading thread and this task share the capture, so that the run can end even
    // when a process that left the group (setsid) keeps the pipe open.
    let shared = Arc::new(Mutex::new(Some(capture)));
    let reading = read_output(reader, Arc::clone(&shared));
    let exit = wait_until(&mut child, pgid, deadline, kill_grace)
        .await
        .map_err(|source| SpawnError::Output {
            program: program.clone(),
            source,
        })?
        .unwrap_or(Exit::TimedOut {
            after_secs: timeout.as_secs(),
        });
    // Children left behind in the group (e.g. provider plugins) would hold the pipe open.
    if let Some(pgid) = pgid {
        let _ = kill_process_group(pgid, Signal::KILL);
    }
    let waited = tokio::time::timeout(kill_grace.max(Duration::from_secs(1)), reading).await;
    let mut capture = shared
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
        .expect("only this task takes the capture");
    let output_err = |source| SpawnError::Output {
        program: program.clone(),
        source,
    };
    match waited {
        Ok(joined) => joined
            .map_err(|join| output_err(std::io::Error::other(join.to_string())))?
            .map_err(output_err)?,
        Err(_) => {
            let _ = capture
                .note("[output cut: a process outside the run's process group kept it open]");
        }
    }
    Ok((exit, capture))
}

/// Starts the command in a session of its own, stdout (unless it goes to a file) and
/// stderr into `writer`.
fn spawn(invocation: Invocation, writer: std::io::PipeWriter) -> std::io::Result<Child> {
    let mut command = Command::new(&invocation.program);
    command
        .args(&invocation.args)
        .current_dir(&invocation.cwd)
        // Nothing of the service's environment: only what the runner passes.
        .env_clear()
        .envs(invocation.env)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    in_new_session(&mut command);
    match &invocation.stdout_file {
        Some(path) => {
            command.stdout(crate::private_files::create_private_file(path)?);
        }
        None => {
            command.stdout(writer.try_clone()?);
        }
    }
    command.stderr(writer);
    let spawned = command.spawn();
    // The parent's copies of the pipe's write end must go, or reading never ends.
    drop(command);
    spawned
}

/// Makes `command` start in a session of its own, not only a new process group: the group
/// is still killed as one at the deadline, and nothing in it has a controlling terminal to
/// push input into (TIOCSTI) even when the service was started from one.
pub(crate) fn in_new_session(command: &mut Command) {
    // SAFETY: the closure runs in the forked child before exec and calls only setsid(2),
    // which is async-signal-safe; it allocates nothing and takes no locks.
    unsafe {
        command.pre_exec(|| {
            rustix::process::setsid().map_err(std::io::Error::from)?;
            Ok(())
        });
    }
}

/// Reads the pipe into the shared capture on a thread of its own until the pipe closes
/// or the capture is taken away.
fn read_output(
    mut reader: std::io::PipeReader,
    shared: Arc<Mutex<Option<OutputCapture>>>,
) -> tokio::task::JoinHandle<std::io::Result<()>> {
    tokio::task::spawn_blocking(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = reader.read(&mut buf)?;
            let mut slot = shared.lock().unwrap_or_else(|p| p.into_inner());
            match slot.as_mut() {
                Some(capture) if n > 0 => capture.push(&buf[..n])?,
                _ => return Ok(()),
            }
        }
    })
}

/// Waits for the process to exit; `None` when the deadline came first and its group
/// was stopped (SIGTERM, then SIGKILL after `kill_grace`).
async fn wait_until(
    child: &mut Child,
    pgid: Option<Pid>,
    deadline: Instant,
    kill_grace: Duration,
) -> std::io::Result<Option<Exit>> {
    tokio::select! {
        status = child.wait() => {
            use std::os::unix::process::ExitStatusExt;
            let status = status?;
            Ok(Some(match (status.code(), status.signal()) {
                (Some(code), _) => Exit::Code(code),
                (None, Some(signal)) => Exit::Signal(signal),
                (None, None) => Exit::Code(-1),
            }))
        }
        _ = tokio::time::sleep_until(deadline) => {
            if let Some(pgid) = pgid {
                // Terraform stops cleanly on SIGTERM (releases state locks) when it can.
                terminate_gracefully(pgid, &[]);
                if tokio::time::timeout(kill_grace, child.wait()).await.is_err() {
                    let _ = kill_process_group(pgid, Signal::KILL);
                }
            }
            let _ = child.wait().await;
            Ok(None)
        }
    }
}

/// Asks every process of the run's session to stop, except bubblewrap's own (and the
/// processes named in `spare`, e.g. a step server that reports how Terraform ended):
/// bubblewrap does not pass signals on, and when it dies its sandbox is killed at once
/// (its init is the PID namespace's first process), so a SIGTERM to the whole group
/// would end Terraform with SIGKILL before it could release a state lock. The sandboxed
/// processes are visible here under their host PIDs. Without a sandbox this is the whole
/// group.
pub(crate) fn terminate_gracefully(leader: Pid, spare: &[&str]) {
    let members = session_members(leader);
    let stoppable: Vec<Pid> = members
        .iter()
        .filter(|(_, command)| command != "bwrap" && !spare.contains(&command.as_str()))
        .map(|(pid, _)| *pid)
        .collect();
    if stoppable.is_empty() {
        let _ = kill_process_group(leader, Signal::TERM);
        return;
    }
    for pid in stoppable {
        let _ = kill_process(pid, Signal::TERM);
    }
}

/// Kills every process of the session `leader` started (also those that moved to a
/// process group of their own inside it).
pub(crate) fn kill_session(leader: Pid) {
    let _ = kill_process_group(leader, Signal::KILL);
    for (pid, _) in session_members(leader) {
        let _ = kill_process(pid, Signal::KILL);
    }
}

/// The processes of the session `leader` leads (the command runs in a session of its
/// own, see [`spawn`]), with their command names, read from `/proc`.
fn session_members(leader: Pid) -> Vec<(Pid, String)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let (command, session) = parse_stat(&stat)?;
            (session == leader.as_raw_nonzero().get()).then(|| (Pid::from_raw(pid), command))
        })
        .filter_map(|(pid, command)| Some((pid?, command)))
        .collect()
}

/// The command name and session of a `/proc/<pid>/stat` line. The name is in
/// parentheses and may itself hold spaces and parentheses, so the fields after it are
/// found from its last `)`.
fn parse_stat(stat: &str) -> Option<(String, i32)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let command = stat.get(open + 1..close)?.to_owned();
    // After the name: state, ppid, pgrp, session.
    let session = stat
        .get(close + 1..)?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()?;
    Some((command, session))
}

#[cfg(test)]
mod tests {
    use super::parse_stat;

    #[test]
    fn the_session_is_read_after_a_name_with_spaces_and_parentheses() {
        let stat = "4242 (terraform (x) y) S 4200 4100 4000 0 -1 4194560";
        assert_eq!(parse_stat(stat), Some(("terraform (x) y".to_owned(), 4000)));
        assert_eq!(parse_stat("garbage"), None);
    }
}

//! Starting step sessions off the caller's path, from one thread that lives as long as
//! the runner. bubblewrap runs with `--die-with-parent`, which the kernel ties to the
//! *thread* that started it (`PR_SET_PDEATHSIG`): a sandbox started from one of the
//! runtime's blocking threads is killed when that thread retires after ten idle seconds.
//! So sandboxes are started from a thread of their own, which ends only with the runner
//! (and then takes its sandboxes with it, as the service's death would).

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use super::StepRequest;
use super::session::StepSession;
use crate::capture::OutputCapture;
use crate::process::{Exit, SpawnError};

/// What starting a session needs: bubblewrap's command line, the working dir, the
/// environment, and the server and terraform binaries.
struct Launch {
    command: (PathBuf, Vec<OsString>),
    cwd: PathBuf,
    env: Vec<(OsString, OsString)>,
    binaries: (PathBuf, PathBuf),
    reply: oneshot::Sender<std::io::Result<StepSession>>,
}

/// The thread that starts sessions (see the module comment).
pub(crate) struct Launcher {
    launches: mpsc::Sender<Launch>,
}

impl Launcher {
    /// Starts the thread; it registers the sandboxes with the runtime it is called in.
    pub fn new() -> std::io::Result<Launcher> {
        let runtime = tokio::runtime::Handle::current();
        let (launches, queue) = mpsc::channel::<Launch>();
        std::thread::Builder::new()
            .name("promptops-sandboxes".into())
            .spawn(move || {
                let _entered = runtime.enter();
                for launch in queue {
                    // Its run (or spare) is gone already: no sandbox to start for it.
                    if launch.reply.is_closed() {
                        continue;
                    }
                    let (server, terraform) = &launch.binaries;
                    let started = StepSession::start(
                        launch.command,
                        &launch.cwd,
                        launch.env,
                        (server, terraform),
                    );
                    let _ = launch.reply.send(started);
                }
            })?;
        Ok(Launcher { launches })
    }

    /// A session starting with these arguments.
    pub fn start(
        &self,
        command: (PathBuf, Vec<OsString>),
        cwd: PathBuf,
        env: Vec<(OsString, OsString)>,
        binaries: (PathBuf, PathBuf),
    ) -> PendingSession {
        let terraform = binaries.1.display().to_string();
        let (reply, started) = oneshot::channel();
        let launch = Launch {
            command,
            cwd,
            env,
            binaries,
            reply,
        };
        let slot = match self.launches.send(launch) {
            Ok(()) => Slot::Starting(started),
            Err(_) => Slot::Failed("the thread that starts sandboxes has ended".into()),
        };
        PendingSession {
            slot: tokio::sync::Mutex::new(slot),
            terraform,
        }
    }
}

/// A sandbox with a step server, starting; ready when first used.
pub(crate) struct PendingSession {
    slot: tokio::sync::Mutex<Slot>,
    terraform: String,
}

enum Slot {
    Starting(oneshot::Receiver<std::io::Result<StepSession>>),
    /// Boxed: a session is large and the other states small.
    Ready(Box<StepSession>),
    Failed(String),
}

impl PendingSession {
    /// A session that could not be started: each step run in it fails with `message`.
    pub fn failed(terraform: &std::path::Path, message: String) -> PendingSession {
        PendingSession {
            slot: tokio::sync::Mutex::new(Slot::Failed(message)),
            terraform: terraform.display().to_string(),
        }
    }

    /// Whether the sandbox is starting or up: `false` once it failed to start or ended
    /// (or while a step runs in it: it is in use).
    pub fn usable(&self) -> bool {
        let Ok(mut slot) = self.slot.try_lock() else {
            return false;
        };
        if let Slot::Starting(started) = &mut *slot {
            *slot = match started.try_recv() {
                Ok(Ok(session)) => Slot::Ready(Box::new(session)),
                Ok(Err(err)) => Slot::Failed(err.to_string()),
                Err(oneshot::error::TryRecvError::Empty) => return true,
                Err(oneshot::error::TryRecvError::Closed) => {
                    Slot::Failed("the thread that starts sandboxes has ended".into())
                }
            };
        }
        match &mut *slot {
            Slot::Ready(session) => session.is_running(),
            _ => false,
        }
    }

    /// [`StepSession::run`], once the sandbox has started.
    pub async fn run(
        &self,
        request: &StepRequest,
        capture: OutputCapture,
        deadline: Instant,
        limits: (Duration, Duration),
    ) -> Result<(Exit, OutputCapture), SpawnError> {
        let mut slot = self.slot.lock().await;
        if let Slot::Starting(started) = &mut *slot {
            *slot = match started.await {
                Ok(Ok(session)) => Slot::Ready(Box::new(session)),
                Ok(Err(err)) => Slot::Failed(err.to_string()),
                Err(_) => Slot::Failed("the thread that starts sandboxes has ended".into()),
            };
        }
        match &mut *slot {
            Slot::Ready(session) => session.run(request, capture, deadline, limits).await,
            Slot::Failed(message) => Err(SpawnError::Start {
                program: self.terraform.clone(),
                source: std::io::Error::other(format!(
                    "could not start the run's sandbox: {message}"
                )),
            }),
            Slot::Starting(_) => unreachable!("a started session was awaited just above"),
        }
    }
}

//! The server's side: read a request, run `terraform <args>`, send its output and how it
//! ended, until stdin ends. Plain threads, no runtime: it lives inside the sandbox for one
//! run and does one thing at a time.

use std::ffi::OsString;
use std::io::{BufRead, Read, Write};
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustix::process::{Pid, Signal, kill_process_group};

use super::{Frame, MAX_FRAME, STEP_SERVER_ARG, StepRequest};
use crate::private_files::create_private_file;

/// How long the output of an ended step may still take to arrive: a process that left
/// the step's group (setsid) can keep the pipe open for ever.
const DRAIN_GRACE: Duration = Duration::from_secs(1);

/// Serves when this process was started as a step server (`<binary> __terraform-step-server
/// <terraform>`); `None` otherwise, so that `main` goes on as usual.
pub fn run_if_requested() -> Option<ExitCode> {
    let mut args = std::env::args_os().skip(1);
    if args.next()? != STEP_SERVER_ARG {
        return None;
    }
    let Some(terraform) = args.next() else {
        eprintln!("{STEP_SERVER_ARG}: the terraform binary to run is missing");
        return Some(ExitCode::from(2));
    };
    let stdin = std::io::stdin().lock();
    Some(
        match serve(Path::new(&terraform), stdin, std::io::stdout()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("{STEP_SERVER_ARG}: {err}");
                ExitCode::FAILURE
            }
        },
    )
}

/// The frames of one step go out through this; `open` is false once the step's end was
/// sent, so that a late chunk of output is dropped rather than given to the next step.
struct Out<W> {
    writer: W,
    open: bool,
}

/// Runs each request of `requests` with `terraform`, answering on `out`.
pub fn serve<R, W>(terraform: &Path, requests: R, out: W) -> std::io::Result<()>
where
    R: BufRead,
    W: Write + Send + 'static,
{
    let out = Arc::new(Mutex::new(Out {
        writer: out,
        open: false,
    }));
    for line in requests.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let ended = match serde_json::from_str::<StepRequest>(&line) {
            Ok(request) => run_step(terraform, &request, &out)?,
            Err(err) => Frame::NotStarted(format!("a request that is not a step: {err}")),
        };
        let mut out = out.lock().unwrap_or_else(|p| p.into_inner());
        out.open = false;
        out.writer.write_all(&ended.encode())?;
        out.writer.flush()?;
    }
    Ok(())
}

/// Runs one step, relaying its output; returns the frame that says how it ended.
fn run_step<W>(
    terraform: &Path,
    request: &StepRequest,
    out: &Arc<Mutex<Out<W>>>,
) -> std::io::Result<Frame>
where
    W: Write + Send + 'static,
{
    let (reader, writer) = std::io::pipe()?;
    let mut command = Command::new(terraform);
    command
        .args(request.args.iter().map(OsString::from))
        .stdin(Stdio::null())
        // A group of its own, so that what it leaves behind (provider plugins) can be
        // stopped with it.
        .process_group(0);
    if let Some(cwd) = &request.cwd {
        command.current_dir(cwd);
    }
    match &request.stdout_file {
        Some(path) => match create_private_file(path) {
            Ok(file) => command.stdout(file),
            Err(err) => {
                let shown = path.display();
                return Ok(Frame::NotStarted(format!("cannot create {shown}: {err}")));
            }
        },
        None => command.stdout(writer.try_clone()?),
    };
    command.stderr(writer);
    let spawned = command.spawn();
    // The pipe's write ends must all be the child's, or reading never ends.
    drop(command);
    let mut child = match spawned {
        Ok(child) => child,
        Err(err) => {
            let shown = terraform.display();
            return Ok(Frame::NotStarted(format!("could not start {shown}: {err}")));
        }
    };
    out.lock().unwrap_or_else(|p| p.into_inner()).open = true;
    let drained = relay(reader, Arc::clone(out));
    let status = child.wait()?;
    if let Some(group) = Pid::from_raw(child.id() as i32) {
        let _ = kill_process_group(group, Signal::KILL);
    }
    let _ = drained.recv_timeout(DRAIN_GRACE);
    use std::os::unix::process::ExitStatusExt;
    Ok(match (status.code(), status.signal()) {
        (Some(code), _) => Frame::Exited(code),
        (None, Some(signal)) => Frame::Signaled(signal),
        (None, None) => Frame::Exited(-1),
    })
}

/// Sends what arrives on `reader` as output frames on a thread of its own; the receiver
/// hears when the pipe has closed.
fn relay<W>(mut reader: std::io::PipeReader, out: Arc<Mutex<Out<W>>>) -> mpsc::Receiver<()>
where
    W: Write + Send + 'static,
{
    let (done, drained) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; MAX_FRAME];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            let mut out = out.lock().unwrap_or_else(|p| p.into_inner());
            if !out.open {
                break;
            }
            let frame = Frame::Output(buf[..n].to_vec()).encode();
            if out
                .writer
                .write_all(&frame)
                .and_then(|()| out.writer.flush())
                .is_err()
            {
                break;
            }
        }
        let _ = done.send(());
    });
    drained
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `Write` the test can read back after the server is done with it.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    async fn frames(bytes: Vec<u8>) -> Vec<Frame> {
        let mut reader = bytes.as_slice();
        let mut all = Vec::new();
        while let Some(frame) = super::super::read_frame(&mut reader).await.unwrap() {
            all.push(frame);
        }
        all
    }

    fn output_of(frames: &[Frame]) -> String {
        frames
            .iter()
            .filter_map(|frame| match frame {
                Frame::Output(data) => Some(String::from_utf8_lossy(data).into_owned()),
                _ => None,
            })
            .collect()
    }

    #[tokio::test]
    async fn steps_run_in_order_each_answered_with_its_output_and_exit() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("out.json");
        let requests = [
            serde_json::json!({"args": ["-c", "echo one; echo two >&2"]}),
            serde_json::json!({"args": ["-c", "echo to-file; exit 3"], "stdout_file": file}),
            serde_json::json!({"args": ["-c", "kill -TERM $$"]}),
            serde_json::json!({"nonsense": true}),
        ];
        let input: String = requests.iter().map(|r| format!("{r}\n")).collect();
        let out = Shared::default();
        serve(Path::new("/bin/sh"), input.as_bytes(), out.clone()).unwrap();
        let written = out.0.lock().unwrap().clone();
        let frames = frames(written).await;
        let ends: Vec<&Frame> = frames
            .iter()
            .filter(|frame| !matches!(frame, Frame::Output(_)))
            .collect();
        assert_eq!(ends.len(), 4, "{frames:?}");
        assert_eq!(ends[0], &Frame::Exited(0));
        assert_eq!(ends[1], &Frame::Exited(3));
        assert_eq!(ends[2], &Frame::Signaled(15));
        assert!(
            matches!(ends[3], Frame::NotStarted(text) if text.contains("not a step")),
            "{:?}",
            ends[3]
        );
        let first_end = frames.iter().position(|f| f == &Frame::Exited(0)).unwrap();
        assert_eq!(output_of(&frames[..first_end]), "one\ntwo\n");
        assert_eq!(output_of(&frames[first_end..]), "");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "to-file\n");
    }

    #[tokio::test]
    async fn a_missing_program_is_named_and_the_server_goes_on() {
        let input = "{\"args\": []}\n{\"args\": []}\n";
        let out = Shared::default();
        serve(
            Path::new("/nonexistent/terraform"),
            input.as_bytes(),
            out.clone(),
        )
        .unwrap();
        let written = out.0.lock().unwrap().clone();
        let frames = frames(written).await;
        assert_eq!(frames.len(), 2);
        for frame in frames {
            assert!(
                matches!(&frame, Frame::NotStarted(text) if text.contains("/nonexistent/terraform")),
                "{frame:?}"
            );
        }
    }

    #[tokio::test]
    async fn what_a_step_leaves_running_is_stopped_with_it() {
        // The background sleep holds the output pipe: without stopping the step's group
        // the step's end would wait for it.
        let input = "{\"args\": [\"-c\", \"sleep 30 & echo started\"]}\n";
        let out = Shared::default();
        let started = std::time::Instant::now();
        serve(Path::new("/bin/sh"), input.as_bytes(), out.clone()).unwrap();
        assert!(started.elapsed() < Duration::from_secs(10));
        let written = out.0.lock().unwrap().clone();
        let frames = frames(written).await;
        assert_eq!(output_of(&frames), "started\n");
        assert_eq!(frames.last(), Some(&Frame::Exited(0)));
    }
}

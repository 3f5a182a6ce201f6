//! Two sandboxes per run instead of one per Terraform command. Starting bubblewrap costs
//! several milliseconds (its namespaces, its mounts, one more exec) before Terraform even
//! starts, and a plan runs three Terraform commands, an apply five. So a run starts two
//! sandboxes when it is reserved (see `runner/reservation.rs`), each with a small server
//! in it, this crate's [`serve`]: one with the plugin cache writable, for `init` alone
//! (ended with it), and one with the cache read-only, which runs every later command one
//! after the other as the runner asks. The server is the `promptops` binary itself,
//! started with [`STEP_SERVER_ARG`].
//!
//! The protocol, on the server's stdin and stdout (nothing else writes there: Terraform's
//! output goes through a pipe of the server's own, so it cannot forge a frame):
//!
//! - a request is one JSON line, [`StepRequest`];
//! - the answer is a sequence of frames: `O` + u32 length + bytes (output of the step,
//!   stdout and stderr merged in order), then one of `X` + i32 (exit code), `S` + i32 (ended
//!   by that signal) or `E` + u32 length + text (the command could not be started).
//!
//! Integers are big-endian. The server ends when its stdin ends.

mod launcher;
mod serve;
mod session;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub(crate) use launcher::{Launcher, PendingSession};
pub use serve::{run_if_requested, serve};

/// The first argument that makes the `promptops` binary a step server:
/// `promptops __terraform-step-server <terraform binary>`.
pub const STEP_SERVER_ARG: &str = "__terraform-step-server";

/// One command for the server to run: `terraform <args>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRequest {
    pub args: Vec<String>,
    /// Where it runs; the server's own working dir when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<PathBuf>,
    /// Where the command's stdout goes instead of the output frames (a new file, 0600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdout_file: Option<PathBuf>,
}

/// Frame tags.
const OUTPUT: u8 = b'O';
const EXITED: u8 = b'X';
const SIGNALED: u8 = b'S';
const NOT_STARTED: u8 = b'E';

/// The most one output frame carries (the server reads in chunks of this size).
const MAX_FRAME: usize = 64 * 1024;

/// What the server sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Frame {
    Output(Vec<u8>),
    Exited(i32),
    Signaled(i32),
    NotStarted(String),
}

impl Frame {
    fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        match self {
            Frame::Output(data) => {
                bytes.push(OUTPUT);
                bytes.extend_from_slice(&(data.len() as u32).to_be_bytes());
                bytes.extend_from_slice(data);
            }
            Frame::Exited(code) => {
                bytes.push(EXITED);
                bytes.extend_from_slice(&code.to_be_bytes());
            }
            Frame::Signaled(signal) => {
                bytes.push(SIGNALED);
                bytes.extend_from_slice(&signal.to_be_bytes());
            }
            Frame::NotStarted(message) => {
                bytes.push(NOT_STARTED);
                bytes.extend_from_slice(&(message.len() as u32).to_be_bytes());
                bytes.extend_from_slice(message.as_bytes());
            }
        }
        bytes
    }
}

/// Reads one frame; `None` at the end of the stream (the server is gone).
pub(crate) async fn read_frame<R>(reader: &mut R) -> std::io::Result<Option<Frame>>
where
    R: tokio::io::AsyncRead + Unpin,
{
    use tokio::io::AsyncReadExt as _;
    let tag = match reader.read_u8().await {
        Ok(tag) => tag,
        Err(err) if err.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(err) => return Err(err),
    };
    let frame = match tag {
        OUTPUT | NOT_STARTED => {
            let len = reader.read_u32().await? as usize;
            if len > MAX_FRAME.max(4096) {
                return Err(bad_frame(format!("a frame of {len} bytes")));
            }
            let mut data = vec![0u8; len];
            reader.read_exact(&mut data).await?;
            if tag == OUTPUT {
                Frame::Output(data)
            } else {
                Frame::NotStarted(String::from_utf8_lossy(&data).into_owned())
            }
        }
        EXITED => Frame::Exited(reader.read_i32().await?),
        SIGNALED => Frame::Signaled(reader.read_i32().await?),
        other => return Err(bad_frame(format!("the unknown frame tag {other:#04x}"))),
    };
    Ok(Some(frame))
}

fn bad_frame(what: String) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("the step server sent {what}: it is not the server this runner speaks to"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_read_back_as_written() {
        let frames = vec![
            Frame::Output(b"Plan: 1 to add\n".to_vec()),
            Frame::Output(Vec::new()),
            Frame::Exited(2),
            Frame::Signaled(9),
            Frame::NotStarted("no such file".into()),
        ];
        let bytes: Vec<u8> = frames.iter().flat_map(Frame::encode).collect();
        let mut reader = bytes.as_slice();
        for frame in &frames {
            assert_eq!(read_frame(&mut reader).await.unwrap().as_ref(), Some(frame));
        }
        assert_eq!(read_frame(&mut reader).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_stream_that_is_not_the_protocol_is_refused() {
        let mut reader: &[u8] = b"Terraform v1.11";
        let err = read_frame(&mut reader).await.unwrap_err();
        assert!(err.to_string().contains("unknown frame tag"), "{err}");
        let mut huge: &[u8] = &[b'O', 0xff, 0xff, 0xff, 0xff];
        let err = read_frame(&mut huge).await.unwrap_err();
        assert!(err.to_string().contains("bytes"), "{err}");
        let mut cut: &[u8] = &[b'X', 0, 0];
        assert!(read_frame(&mut cut).await.is_err());
    }

    #[test]
    fn requests_are_one_json_line() {
        let request = StepRequest {
            args: vec!["show".into(), "-json".into(), "plan.bin".into()],
            stdout_file: Some(PathBuf::from("/run/plan.json")),
            cwd: Some(PathBuf::from("/run/src/terraform")),
        };
        let line = serde_json::to_string(&request).unwrap();
        assert!(!line.contains('\n'));
        assert_eq!(serde_json::from_str::<StepRequest>(&line).unwrap(), request);
        let bare: StepRequest = serde_json::from_str(r#"{"args":["plan"]}"#).unwrap();
        assert_eq!((bare.stdout_file, bare.cwd), (None, None));
    }
}

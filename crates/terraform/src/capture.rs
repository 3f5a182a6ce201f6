//! Command output: masked, written to a log file in full, and kept in memory only as a
//! bounded head and tail (for comments).

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::mask::{Masker, StreamMasker};
use crate::private_files::{create_private_dir, create_private_file};

/// How much of a run's output is kept in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputLimits {
    /// Bytes kept from the start of the output.
    pub head_bytes: usize,
    /// Bytes kept from the end of the output (comments keep the end).
    pub tail_bytes: usize,
}

impl Default for OutputLimits {
    fn default() -> Self {
        // Ten comments of ~60 KB is the most that is ever posted; keep a little more.
        OutputLimits {
            head_bytes: 16 * 1024,
            tail_bytes: 768 * 1024,
        }
    }
}

/// The output of one phase of a run (e.g. init + plan), already masked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunOutput {
    /// The complete masked output on disk.
    pub log_path: PathBuf,
    /// The first bytes of the output (at most `head_bytes`, cut at a line end when possible).
    pub head: String,
    /// The last bytes of the output; empty when `head` already holds everything.
    pub tail: String,
    /// Size of the complete output in bytes.
    pub total_bytes: u64,
    /// Bytes between `head` and `tail` that are only in the log file.
    pub omitted_bytes: u64,
}

impl RunOutput {
    /// The output held in memory; when the middle was dropped, a line says how much.
    pub fn text(&self) -> String {
        if self.omitted_bytes == 0 {
            return format!("{}{}", self.head, self.tail);
        }
        format!(
            "{}\n[... {} bytes omitted here; the full output is in the run's log on the PromptOps server while it is kept (by default the newest 20 runs of a deployment, at most 30 days) ...]\n{}",
            self.head, self.omitted_bytes, self.tail
        )
    }

    /// Whether `needle` occurs in the in-memory output.
    pub fn contains(&self, needle: &str) -> bool {
        self.head.contains(needle) || self.tail.contains(needle)
    }
}

/// Receives raw output chunks, masks them, writes them to the log and keeps head/tail.
pub struct OutputCapture {
    masker: StreamMasker,
    log: BufWriter<File>,
    log_path: PathBuf,
    limits: OutputLimits,
    head: Vec<u8>,
    tail: VecDeque<u8>,
    total: u64,
    scratch: Vec<u8>,
}

impl OutputCapture {
    /// Creates (truncates) the log file at `log_path`, mode 0600 (its dir 0700).
    pub fn create(
        log_path: &Path,
        masker: &Masker,
        limits: OutputLimits,
    ) -> std::io::Result<OutputCapture> {
        if let Some(parent) = log_path.parent() {
            create_private_dir(parent)?;
        }
        let log = BufWriter::with_capacity(64 * 1024, create_private_file(log_path)?);
        Ok(OutputCapture {
            masker: masker.stream(),
            log,
            log_path: log_path.to_path_buf(),
            limits,
            head: Vec::new(),
            tail: VecDeque::new(),
            total: 0,
            scratch: Vec::new(),
        })
    }

    /// Adds raw (unmasked) output.
    pub fn push(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        let mut masked = std::mem::take(&mut self.scratch);
        masked.clear();
        self.masker.push(chunk, &mut masked);
        self.keep(&masked)?;
        self.scratch = masked;
        Ok(())
    }

    /// Adds a line written by the runner itself (e.g. the command being run).
    pub fn note(&mut self, line: &str) -> std::io::Result<()> {
        self.push(format!("{line}\n").as_bytes())
    }

    fn keep(&mut self, masked: &[u8]) -> std::io::Result<()> {
        self.log.write_all(masked)?;
        self.total += masked.len() as u64;
        let head_room = self.limits.head_bytes.saturating_sub(self.head.len());
        let (to_head, to_tail) = masked.split_at(head_room.min(masked.len()));
        self.head.extend_from_slice(to_head);
        if to_tail.len() >= self.limits.tail_bytes {
            self.tail.clear();
            self.tail
                .extend(&to_tail[to_tail.len() - self.limits.tail_bytes..]);
        } else {
            let overflow = (self.tail.len() + to_tail.len()).saturating_sub(self.limits.tail_bytes);
            self.tail.drain(..overflow);
            self.tail.extend(to_tail);
        }
        Ok(())
    }

    /// Flushes the log and returns what was captured.
    pub fn finish(mut self) -> std::io::Result<RunOutput> {
        let mut rest = Vec::new();
        self.masker.finish(&mut rest);
        self.keep(&rest)?;
        self.log.flush()?;
        let tail: Vec<u8> = self.tail.into_iter().collect();
        let omitted = self.total - self.head.len() as u64 - tail.len() as u64;
        Ok(RunOutput {
            log_path: self.log_path,
            head: lossy_trimmed(&self.head, Trim::End),
            tail: if omitted == 0 {
                String::from_utf8_lossy(&tail).into_owned()
            } else {
                lossy_trimmed(&tail, Trim::Start)
            },
            total_bytes: self.total,
            omitted_bytes: omitted,
        })
    }
}

enum Trim {
    Start,
    End,
}

/// Decodes bytes cut out of a longer text; a multi-byte character cut in half at the cut
/// side is dropped rather than shown as a replacement character.
fn lossy_trimmed(bytes: &[u8], cut: Trim) -> String {
    let bytes = match cut {
        Trim::End => {
            let mut end = bytes.len();
            while end > 0 && end + 4 > bytes.len() && std::str::from_utf8(&bytes[..end]).is_err() {
                end -= 1;
            }
            &bytes[..end]
        }
        Trim::Start => {
            let mut start = 0;
            while start < bytes.len().min(4) && std::str::from_utf8(&bytes[start..]).is_err() {
                start += 1;
            }
            &bytes[start..]
        }
    };
    String::from_utf8_lossy(bytes).into_owned()
}

/// Rewrites a log file through a masker (used when the plan reveals more sensitive values
/// after its output was written). Streams, so memory stays bounded.
pub fn remask_file(path: &Path, masker: &Masker) -> std::io::Result<()> {
    use std::io::Read;
    if masker.is_empty() {
        return Ok(());
    }
    let tmp = path.with_extension("remask");
    {
        let mut input = File::open(path)?;
        let mut output = BufWriter::new(create_private_file(&tmp)?);
        let mut stream = masker.stream();
        let mut buf = vec![0u8; 64 * 1024];
        let mut out = Vec::with_capacity(buf.len() + 64);
        loop {
            let n = input.read(&mut buf)?;
            if n == 0 {
                break;
            }
            out.clear();
            stream.push(&buf[..n], &mut out);
            output.write_all(&out)?;
        }
        out.clear();
        stream.finish(&mut out);
        output.write_all(&out)?;
        output.flush()?;
    }
    std::fs::rename(tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    #[test]
    fn keeps_head_and_tail_and_writes_everything_masked() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("run.log");
        let masker = Masker::new([SecretString::from("topsecret".to_string())]);
        let limits = OutputLimits {
            head_bytes: 10,
            tail_bytes: 20,
        };
        let mut capture = OutputCapture::create(&log, &masker, limits).unwrap();
        for i in 0..1000 {
            capture.push(format!("line {i} topsec").as_bytes()).unwrap();
            capture.push(b"ret\n").unwrap();
        }
        let out = capture.finish().unwrap();
        let on_disk = std::fs::read_to_string(&log).unwrap();
        assert!(!on_disk.contains("topsecret"));
        assert_eq!(on_disk.lines().count(), 1000);
        assert!(on_disk.ends_with("line 999 ***\n"));
        assert_eq!(out.total_bytes, on_disk.len() as u64);
        assert_eq!(out.head, "line 0 ***");
        assert!(out.tail.ends_with("line 999 ***\n"));
        assert_eq!(out.tail.len(), 20);
        assert_eq!(out.omitted_bytes, out.total_bytes - 30);
        assert!(out.text().contains("bytes omitted"));
    }

    #[test]
    fn remask_rewrites_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("run.log");
        std::fs::write(&log, "a sensitive-value b\n".repeat(10_000)).unwrap();
        remask_file(
            &log,
            &Masker::new([SecretString::from("sensitive-value".to_string())]),
        )
        .unwrap();
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(!text.contains("sensitive-value"));
        assert_eq!(text.matches("a *** b").count(), 10_000);
    }
}

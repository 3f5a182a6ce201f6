//! Running ansible/install_streamlit.yml in a scratch area, and inspecting what it left.
//!
//! The scratch area has two halves: `fixture/` (CA, sshd, Vault stand-in state — which
//! records the issued keys so that tests can look for them) and `scan/` (HOME, TMPDIR and
//! Ansible's temp dirs of the playbook run, the app root). After a run, no file under
//! `scan/` may hold any part of an issued key or certificate.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::tools::{Tools, run_ok};

/// Version the stub wheel claims; the playbook pins `streamlit==<this>` in the tests.
pub const STUB_STREAMLIT_VERSION: &str = "1.51.0";

pub struct Scratch {
    _root: tempfile::TempDir,
    pub fixture: PathBuf,
    pub scan: PathBuf,
}

impl Scratch {
    pub fn new() -> Scratch {
        let root = tempfile::Builder::new()
            .prefix("promptops-playbook-")
            .tempdir()
            .expect("tempdir");
        let fixture = root.path().join("fixture");
        let scan = root.path().join("scan");
        for dir in [
            "home",
            "tmp",
            "ansible-local",
            "remote-tmp",
            "app",
            "units",
            "wheels",
        ] {
            std::fs::create_dir_all(scan.join(dir)).expect("scratch dir");
        }
        std::fs::create_dir_all(&fixture).expect("fixture dir");
        Scratch {
            _root: root,
            fixture,
            scan,
        }
    }

    pub fn app_root(&self) -> PathBuf {
        self.scan.join("app")
    }

    pub fn unit_dir(&self) -> PathBuf {
        self.scan.join("units")
    }

    pub fn wheels(&self) -> PathBuf {
        self.scan.join("wheels")
    }

    /// Where the playbook's `tempfile` task creates the credentials directory.
    pub fn tmp(&self) -> PathBuf {
        self.scan.join("tmp")
    }
}

pub fn ansible_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ansible")
}

pub struct PlaybookRun {
    pub success: bool,
    pub output: String,
}

/// Runs the playbook with `vars` as extra vars (a JSON file), with HOME, TMPDIR and Ansible's
/// temp dirs inside `scratch.scan`, and no SSH agent.
pub fn run_playbook(
    tools: &Tools,
    scratch: &Scratch,
    name: &str,
    vars: &serde_json::Value,
) -> PlaybookRun {
    let vars_file = scratch.fixture.join(format!("{name}-vars.json"));
    std::fs::write(
        &vars_file,
        serde_json::to_vec_pretty(vars).expect("vars JSON"),
    )
    .expect("write vars");
    let log_path = scratch.fixture.join(format!("{name}-output.log"));
    let log = std::fs::File::create(&log_path).expect("playbook log");
    let mut child = Command::new(tools.ansible_bin.join("ansible-playbook"))
        .arg("install_streamlit.yml")
        .arg("-e")
        .arg(format!("@{}", vars_file.display()))
        .current_dir(ansible_dir())
        .env("PATH", tools.path_env())
        .env("HOME", scratch.scan.join("home"))
        .env("TMPDIR", scratch.tmp())
        .env("ANSIBLE_LOCAL_TEMP", scratch.scan.join("ansible-local"))
        .env("ANSIBLE_CONFIG", ansible_dir().join("ansible.cfg"))
        .env("ANSIBLE_NOCOLOR", "1")
        .env("LC_ALL", "C.UTF-8")
        .env_remove("SSH_AUTH_SOCK")
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log handle"))
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start ansible-playbook: {e}"));
    // A guard against a hung run (not a timing assertion): the run normally takes well
    // under a minute.
    let mut status = None;
    for _ in 0..(15 * 60 * 5) {
        if let Some(s) = child.try_wait().expect("ansible-playbook status") {
            status = Some(s);
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let output = std::fs::read_to_string(&log_path).unwrap_or_default();
    let Some(status) = status else {
        let _ = child.kill();
        panic!("ansible-playbook did not finish in 15 minutes; output so far:\n{output}");
    };
    PlaybookRun {
        success: status.success(),
        output,
    }
}

/// Runs `ansible-playbook`/`ansible-lint` style tools in ansible/ and returns (success, output).
pub fn run_tool(tools: &Tools, tool: &str, args: &[&str], home: &Path) -> (bool, String) {
    let out = Command::new(tools.ansible_bin.join(tool))
        .args(args)
        .current_dir(ansible_dir())
        .env("PATH", tools.path_env())
        .env("HOME", home)
        .env("ANSIBLE_CONFIG", ansible_dir().join("ansible.cfg"))
        .env("ANSIBLE_NOCOLOR", "1")
        .env("NO_COLOR", "1")
        .env("LC_ALL", "C.UTF-8")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {tool}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

pub fn build_stub_wheel(tools: &Tools, dir: &Path) {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/stub_streamlit_wheel.py");
    run_ok(
        Command::new(&tools.python)
            .arg(script)
            .arg(dir)
            .arg(STUB_STREAMLIT_VERSION),
        "building the stub streamlit wheel",
    );
}

/// Pieces of an issued key and certificate that must not survive on disk: the private
/// key's PEM marker and base64 lines, and the certificate blob.
pub fn key_material(certificate: &serde_json::Value) -> Vec<String> {
    let private_key = certificate["private_key"].as_str().expect("private_key");
    let signed_key = certificate["signed_key"].as_str().expect("signed_key");
    let mut needles = vec!["OPENSSH PRIVATE KEY".to_string()];
    needles.extend(
        private_key
            .lines()
            .filter(|l| !l.starts_with("-----") && l.len() >= 20)
            .map(str::to_string),
    );
    needles.push(
        signed_key
            .split_whitespace()
            .nth(1)
            .expect("certificate blob")
            .to_string(),
    );
    needles
}

/// Files under `dir` holding any of `needles`, with the needle found.
pub fn files_containing(dir: &Path, needles: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&current) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                stack.push(path);
            } else if meta.is_file() {
                let Ok(bytes) = std::fs::read(&path) else {
                    continue;
                };
                let text = String::from_utf8_lossy(&bytes);
                for needle in needles {
                    if text.contains(needle.as_str()) {
                        found.push(format!("{} holds {:.40}...", path.display(), needle));
                    }
                }
            }
        }
    }
    found
}

/// Principals, validity in seconds and key id of an OpenSSH certificate, read with
/// `ssh-keygen -L`.
pub struct CertificateDetails {
    pub principals: Vec<String>,
    pub valid_seconds: i64,
    pub key_id: String,
    pub text: String,
}

pub fn certificate_details(signed_key: &str, dir: &Path) -> CertificateDetails {
    let path = dir.join("inspected-cert.pub");
    std::fs::write(&path, signed_key).expect("write certificate");
    let text = run_ok(
        Command::new("ssh-keygen").arg("-L").arg("-f").arg(&path),
        "ssh-keygen -L",
    );
    let mut principals = Vec::new();
    let mut in_principals = false;
    let mut valid_seconds = None;
    let mut key_id = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if in_principals {
            if line.starts_with("                ") {
                principals.push(trimmed.to_string());
                continue;
            }
            in_principals = false;
        }
        if trimmed == "Principals:" {
            in_principals = true;
        } else if let Some(rest) = trimmed.strip_prefix("Key ID: ") {
            key_id = rest.trim_matches('"').to_string();
        } else if let Some(rest) = trimmed.strip_prefix("Valid: from ") {
            let (from, to) = rest.split_once(" to ").expect("Valid: from X to Y");
            valid_seconds = Some(epoch_seconds(to) - epoch_seconds(from));
        }
    }
    CertificateDetails {
        principals,
        valid_seconds: valid_seconds.unwrap_or_else(|| panic!("no validity in:\n{text}")),
        key_id,
        text,
    }
}

/// `YYYY-MM-DDTHH:MM:SS` as seconds since 1970 (the calendar part by days-from-civil).
fn epoch_seconds(stamp: &str) -> i64 {
    let parse = |s: &str| {
        s.parse::<i64>()
            .unwrap_or_else(|_| panic!("bad timestamp {stamp}"))
    };
    let (date, time) = stamp
        .split_once('T')
        .unwrap_or_else(|| panic!("bad timestamp {stamp}"));
    let d: Vec<i64> = date.split('-').map(parse).collect();
    let t: Vec<i64> = time.split(':').map(parse).collect();
    let (y, m, day) = (if d[1] <= 2 { d[0] - 1 } else { d[0] }, d[1], d[2]);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + t[0] * 3600 + t[1] * 60 + t[2]
}

/// The body of `GET path` on 127.0.0.1:port, or None when nothing answers.
pub fn http_get(port: u16, path: &str) -> Option<String> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
}

/// Stops the app the playbook started detached (pid file in the app root) when dropped.
pub struct AppGuard(pub PathBuf);

impl Drop for AppGuard {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.0.join("streamlit.pid")) {
            let _ = Command::new("kill").arg(pid.trim()).status();
        }
    }
}

//! The external programs the playbook tests run, found through the environment that
//! `scripts/setup-ansible.sh` prints. A missing one fails the test with a message naming
//! it and how to get it: these tests never skip.

use std::path::{Path, PathBuf};
use std::process::Command;

const SETUP_HINT: &str = "run `eval \"$(bash scripts/setup-ansible.sh)\"` first (it creates the ansible virtualenv and installs openssh-server)";

pub struct Tools {
    /// Directory holding `ansible-playbook` and `ansible-lint`.
    pub ansible_bin: PathBuf,
    /// Python that runs the Vault-API stand-in and builds the stub wheel.
    pub python: PathBuf,
    pub sshd: PathBuf,
}

impl Tools {
    pub fn from_env() -> Tools {
        let ansible_bin = std::env::var_os("PROMPTOPS_TEST_ANSIBLE_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| panic!("PROMPTOPS_TEST_ANSIBLE_BIN is not set: {SETUP_HINT}"));
        for tool in ["ansible-playbook", "ansible-lint"] {
            let path = ansible_bin.join(tool);
            assert!(
                path.is_file(),
                "{} does not exist (PROMPTOPS_TEST_ANSIBLE_BIN={}): {SETUP_HINT}",
                path.display(),
                ansible_bin.display()
            );
        }
        let python = std::env::var_os("PROMPTOPS_TEST_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|| ansible_bin.join("python"));
        assert!(
            python.is_file(),
            "python for the Vault-API stand-in not found at {}: {SETUP_HINT}",
            python.display()
        );
        let sshd = std::env::var_os("PROMPTOPS_TEST_SSHD")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/usr/sbin/sshd"));
        assert!(
            sshd.is_file(),
            "sshd not found at {} (Debian package openssh-server): {SETUP_HINT}",
            sshd.display()
        );
        for tool in ["ssh", "ssh-keygen", "shred"] {
            assert!(
                on_path(tool),
                "`{tool}` is not on PATH (openssh-client / coreutils): {SETUP_HINT}"
            );
        }
        Tools {
            ansible_bin,
            python,
            sshd,
        }
    }

    /// PATH with the virtualenv first, as activating it would.
    pub fn path_env(&self) -> std::ffi::OsString {
        let mut paths = vec![self.ansible_bin.clone()];
        if let Some(path) = std::env::var_os("PATH") {
            paths.extend(std::env::split_paths(&path));
        }
        std::env::join_paths(paths).expect("PATH entries")
    }
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|dir| dir.join(tool).is_file()))
        .unwrap_or(false)
}

/// Runs a command to completion and returns stdout, failing the test with its output when
/// it does not succeed.
pub fn run_ok(cmd: &mut Command, what: &str) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A fresh ed25519 key pair at `path` / `path.pub`.
pub fn keygen(path: &Path) {
    run_ok(
        Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "test", "-f"])
            .arg(path),
        "ssh-keygen",
    );
}

/// The login name the tests run as (the certificate principal and SSH user).
pub fn current_user() -> String {
    run_ok(Command::new("id").arg("-un"), "id -un")
        .trim()
        .to_string()
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

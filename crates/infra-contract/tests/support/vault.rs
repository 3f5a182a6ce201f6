//! Starts `vault_standin.py` (see there) and reads what it issued.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct StandinSettings<'a> {
    pub ca_key: &'a Path,
    pub role_id: &'a str,
    pub secret_id: &'a str,
    pub wrapping_token: &'a str,
    pub ssh_mount: &'a str,
    pub ssh_role: &'a str,
    pub allowed_user: &'a str,
    pub namespace: &'a str,
}

pub struct VaultStandin {
    pub addr: String,
    state: PathBuf,
    child: Child,
}

impl VaultStandin {
    pub fn start(python: &Path, state: &Path, s: &StandinSettings<'_>) -> VaultStandin {
        std::fs::create_dir_all(state).expect("stand-in state dir");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/vault_standin.py");
        let child = Command::new(python)
            .arg(&script)
            .arg("--state")
            .arg(state)
            .arg("--ca-key")
            .arg(s.ca_key)
            .args(["--role-id", s.role_id, "--secret-id", s.secret_id])
            .args(["--wrapping-token", s.wrapping_token])
            .args(["--ssh-mount", s.ssh_mount, "--ssh-role", s.ssh_role])
            .args(["--allowed-user", s.allowed_user, "--max-ttl", "1h"])
            .args(["--namespace", s.namespace])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(state.join("stderr.log")).expect("stand-in log"))
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start the Vault-API stand-in with {}: {e}",
                    python.display()
                )
            });
        let mut standin = VaultStandin {
            addr: String::new(),
            state: state.to_path_buf(),
            child,
        };
        let port_file = state.join("port");
        for _ in 0..200 {
            if let Some(status) = standin.child.try_wait().expect("stand-in status") {
                panic!(
                    "the Vault-API stand-in exited at start ({status}):\n{}",
                    std::fs::read_to_string(state.join("stderr.log")).unwrap_or_default()
                );
            }
            if let Ok(port) = std::fs::read_to_string(&port_file) {
                standin.addr = format!("http://127.0.0.1:{}", port.trim());
                return standin;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the Vault-API stand-in did not report its port");
    }

    fn jsonl(&self, name: &str) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.state.join(name))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("stand-in writes JSON lines"))
            .collect()
    }

    /// Unwraps, logins, certificates and revocations, in order.
    pub fn issued(&self) -> Vec<serde_json::Value> {
        self.jsonl("issued.jsonl")
    }

    pub fn certificates(&self) -> Vec<serde_json::Value> {
        self.issued()
            .into_iter()
            .filter(|e| e["kind"] == "certificate")
            .collect()
    }

    /// (path, status, namespace header) of every request.
    pub fn requests(&self) -> Vec<(String, u64, Option<String>)> {
        self.jsonl("requests.jsonl")
            .into_iter()
            .map(|r| {
                (
                    r["path"].as_str().unwrap_or_default().to_string(),
                    r["status"].as_u64().unwrap_or_default(),
                    r["namespace"].as_str().map(str::to_string),
                )
            })
            .collect()
    }
}

impl Drop for VaultStandin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

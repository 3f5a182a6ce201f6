//! A real OpenSSH server on a loopback port that trusts only a test user CA: no authorized
//! keys, no passwords, no keyboard-interactive. Killed when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::tools::{free_port, keygen, run_ok};

pub struct TestSshd {
    pub port: u16,
    pub log: PathBuf,
    child: Child,
}

impl TestSshd {
    pub fn start(sshd: &Path, dir: &Path, ca_public_key: &Path) -> TestSshd {
        std::fs::create_dir_all(dir).expect("sshd dir");
        // sshd refuses to start without its privilege separation directory.
        let _ = std::fs::create_dir_all("/run/sshd");
        let host_key = dir.join("ssh_host_ed25519_key");
        keygen(&host_key);
        let port = free_port();
        let log = dir.join("sshd.log");
        let config = dir.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "Port {port}\n\
                 ListenAddress 127.0.0.1\n\
                 HostKey {host}\n\
                 PidFile {pid}\n\
                 TrustedUserCAKeys {ca}\n\
                 AuthorizedKeysFile none\n\
                 AuthorizedPrincipalsFile none\n\
                 PubkeyAuthentication yes\n\
                 PasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\n\
                 HostbasedAuthentication no\n\
                 PermitRootLogin prohibit-password\n\
                 UsePAM no\n\
                 StrictModes no\n\
                 LogLevel VERBOSE\n",
                host = host_key.display(),
                pid = dir.join("sshd.pid").display(),
                ca = ca_public_key.display(),
            ),
        )
        .expect("write sshd_config");
        run_ok(
            Command::new(sshd).arg("-t").arg("-f").arg(&config),
            "sshd -t (config check)",
        );
        let child = Command::new(sshd)
            .arg("-D")
            .arg("-f")
            .arg(&config)
            .arg("-E")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", sshd.display()));
        let mut sshd = TestSshd { port, log, child };
        sshd.wait_until_listening();
        sshd
    }

    fn wait_until_listening(&mut self) {
        for _ in 0..200 {
            if let Some(status) = self.child.try_wait().expect("sshd status") {
                panic!("sshd exited at start ({status}):\n{}", self.log_text());
            }
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "sshd did not listen on 127.0.0.1:{}:\n{}",
            self.port,
            self.log_text()
        );
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The "Accepted ..." lines of the log: one per successful authentication.
    pub fn accepted_logins(&self) -> Vec<String> {
        self.log_text()
            .lines()
            // Not the "Accepted certificate ID ..." notes: only "Accepted <method> for <user>".
            .filter(|l| l.starts_with("Accepted ") && !l.starts_with("Accepted certificate "))
            .filter(|l| l.contains(" for "))
            .map(str::to_string)
            .collect()
    }
}

impl Drop for TestSshd {
    fn drop(&mut self) {
        // Sessions still open (ssh ControlPersist masters keep one for a while) are child
        // processes of the listener; end them with it rather than leave them to linger.
        let sessions = descendants(self.child.id());
        let _ = self.child.kill();
        let _ = self.child.wait();
        for pid in sessions {
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg(pid.to_string())
                .status();
        }
    }
}

/// Process ids below `root` in the process tree (from /proc/<pid>/stat).
fn descendants(root: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
                .filter_map(|pid| {
                    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
                    // "pid (comm) state ppid ...": comm may hold spaces, so split after ')'.
                    let ppid = stat
                        .rsplit_once(')')?
                        .1
                        .split_whitespace()
                        .nth(1)?
                        .parse()
                        .ok()?;
                    Some((pid, ppid))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            parents
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(pid, _)| *pid),
        );
        i += 1;
    }
    found.remove(0);
    found
}

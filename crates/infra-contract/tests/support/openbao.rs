//! A throwaway OpenBao dev server (the `bao` that scripts/setup-terraform.sh installs) on a
//! free loopback port, with the AppRole auth method enabled as the module's README asks of
//! an installation; stopped when dropped.

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub struct OpenBao {
    bin: PathBuf,
    child: Child,
    pub addr: String,
    pub token: String,
}

impl OpenBao {
    pub fn start() -> OpenBao {
        OpenBao::start_with(&[])
    }

    /// With a raw file audit device writing to `log`: every request and response in the
    /// clear, issued keys included (OpenBao takes audit devices from its configuration only).
    pub fn start_with_raw_audit(log: &std::path::Path) -> OpenBao {
        let config = log.with_extension("hcl");
        std::fs::write(
            &config,
            format!(
                "audit \"file\" \"raw\" {{\n  options {{\n    file_path = \"{}\"\n    log_raw   = \"true\"\n  }}\n}}\n",
                log.display()
            ),
        )
        .unwrap();
        OpenBao::start_with(&[format!("-config={}", config.display())])
    }

    fn start_with(extra_args: &[String]) -> OpenBao {
        let bin = std::env::var_os("PROMPTOPS_TEST_BAO")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                panic!("PROMPTOPS_TEST_BAO is not set: run `eval \"$(bash scripts/setup-terraform.sh)\"` first")
            });
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let token = format!("root-{}", std::process::id());
        let child = Command::new(&bin)
            .args([
                "server",
                "-dev",
                &format!("-dev-root-token-id={token}"),
                &format!("-dev-listen-address=127.0.0.1:{port}"),
            ])
            .args(extra_args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let bao = OpenBao {
            bin,
            child,
            addr: format!("http://127.0.0.1:{port}"),
            token,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !bao.cli(&["status"]).status.success() {
            assert!(
                Instant::now() < deadline,
                "OpenBao did not come up at {}",
                bao.addr
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        bao.ok(&["auth", "enable", "approle"]);
        bao
    }

    /// `bao <args>` against this server.
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(&self.bin)
            .args(args)
            .env("VAULT_ADDR", &self.addr)
            .env("VAULT_TOKEN", &self.token)
            .output()
            .unwrap()
    }

    /// `bao <args>`, failing the test unless it succeeds; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let output = self.cli(args);
        assert!(
            output.status.success(),
            "bao {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// The deployment's Vault objects (SSH mount, AppRole role, policy) that still exist.
    pub fn deployment_objects_left(&self, deployment: &str) -> Vec<String> {
        let mut left = Vec::new();
        let mounts = self.ok(&["secrets", "list", "-format=json"]);
        if mounts.contains(&format!("\"ssh-{deployment}/\"")) {
            left.push(format!("mount ssh-{deployment}/"));
        }
        for path in [
            format!("auth/approle/role/promptops-{deployment}"),
            format!("sys/policies/acl/promptops-{deployment}-ssh-issue"),
        ] {
            if self.cli(&["read", &path]).status.success() {
                left.push(path);
            }
        }
        left
    }

    /// `bao read -format=json <path>`'s `data`.
    pub fn read(&self, path: &str) -> serde_json::Value {
        let answer: serde_json::Value =
            serde_json::from_str(&self.ok(&["read", "-format=json", path])).unwrap();
        answer["data"].clone()
    }
}

impl Drop for OpenBao {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

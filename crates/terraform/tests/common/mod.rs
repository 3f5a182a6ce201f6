//! Shared setup for the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use promptops_terraform::{PlanSpec, Runner, RunnerConfig, Source};
use tempfile::TempDir;

use promptops_testkit::launcher_read_paths;

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The real terraform binary (1.11 on the CI image); a missing binary fails the test.
pub fn real_terraform() -> PathBuf {
    let bin = std::env::var_os("TERRAFORM_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/local/bin/terraform"));
    assert!(
        bin.is_file(),
        "these tests need the real terraform binary at {} (set TERRAFORM_BIN to use another path)",
        bin.display()
    );
    bin
}

/// The step server binary of this crate (the service uses its own binary).
pub fn step_server() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_promptops-terraform-steps"))
}

pub fn standin(name: &str) -> PathBuf {
    fixtures().join("bin").join(name)
}

/// A scratch area: a copy of the fixture repo, a work root and a state dir outside it.
pub struct Scratch {
    pub dir: TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        Scratch::with_repo("repo")
    }

    /// With a copy of `fixtures/<fixture>` as the repo.
    pub fn with_repo(fixture: &str) -> Scratch {
        let dir = tempfile::tempdir().expect("temp dir");
        copy_tree(&fixtures().join(fixture), &dir.path().join("repo"));
        std::fs::create_dir_all(dir.path().join("state")).unwrap();
        Scratch { dir }
    }

    pub fn repo(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    pub fn work_root(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    pub fn state_file(&self, deployment: &str) -> PathBuf {
        self.dir
            .path()
            .join("state")
            .join(format!("{deployment}.tfstate"))
    }

    pub fn tfvars(&self, deployment: &str) -> PathBuf {
        self.repo()
            .join("terraform/deployments")
            .join(deployment)
            .join("terraform.tfvars")
    }

    /// Rewrites one `key = value` line of the deployment's tfvars.
    pub fn set_var(&self, deployment: &str, key: &str, value: &str) {
        let path = self.tfvars(deployment);
        let text = std::fs::read_to_string(&path).unwrap();
        let mut found = false;
        let lines: Vec<String> = text
            .lines()
            .map(|line| {
                if line.split('=').next().map(str::trim) == Some(key) {
                    found = true;
                    format!("{key} = {value}")
                } else {
                    line.to_owned()
                }
            })
            .collect();
        assert!(found, "{key} not in {}", path.display());
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    }

    pub fn config(&self, bin: PathBuf) -> RunnerConfig {
        let mut config = RunnerConfig::new(self.work_root());
        config.terraform_bin = bin;
        config.plugin_cache_dir = self.dir.path().join("plugin-cache");
        config.timeout = Duration::from_secs(600);
        // The local backend's state lives outside the run's work dir: the sandbox lets
        // Terraform write there because the operator (here, the test) lists it.
        config.sandbox.writable.push(self.dir.path().join("state"));
        config.sandbox.read_only.extend(launcher_read_paths());
        // As the service runs: the steps after init in one sandbox, through the server.
        config.sandbox.step_server = Some(step_server());
        config
    }

    pub fn spec(&self, source: Source, deployment: &str) -> PlanSpec {
        let mut spec = PlanSpec::new(source, deployment);
        let state = self.dir.path().join("state").join("{deployment}.tfstate");
        spec.backend_config = vec![("path".into(), state.display().to_string())];
        spec.commit = Some("0123456789abcdef0123456789abcdef01234567".into());
        spec
    }

    pub fn dir_spec(&self, deployment: &str) -> PlanSpec {
        self.spec(Source::Directory(self.repo()), deployment)
    }

    /// What is left in the work root besides the shared dirs (should be nothing).
    pub fn leftover_work_dirs(&self) -> Vec<String> {
        const SHARED: [&str; 3] = ["logs", "plugin-cache", "cli-config"];
        std::fs::read_dir(self.work_root())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| !SHARED.contains(&name.as_str()))
            .collect()
    }
}

pub fn runner(config: RunnerConfig) -> Runner {
    Runner::new(config).expect("runner settings are valid")
}

/// A GitHub-style tarball of `dir`: everything under one top-level directory.
pub fn tarball_of(dir: &Path, top: &str) -> bytes::Bytes {
    let mut builder = tar::Builder::new(Vec::new());
    builder.append_dir_all(top, dir).unwrap();
    let tar = builder.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &tar).unwrap();
    bytes::Bytes::from(gz.finish().unwrap())
}

pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Whether `pid` is a live process.
pub fn pid_alive(pid: i32) -> bool {
    // A zombie has exited; only its table entry is left until it is reaped.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

/// Host pids of processes whose environment holds `marker`.
pub fn processes_with_env(marker: &str) -> Vec<String> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().to_string_lossy().into_owned();
            name.parse::<i32>().ok()?;
            let environ = std::fs::read(format!("/proc/{name}/environ")).ok()?;
            let alive = pid_alive(name.parse().ok()?);
            (alive && String::from_utf8_lossy(&environ).contains(marker)).then_some(name)
        })
        .collect()
}

/// Host pids of processes whose environment holds `marker` once the killed ones are gone
/// (the kernel takes a moment to end a PID namespace); empty when none survived.
pub async fn processes_left_with_env(marker: &str) -> Vec<String> {
    let mut left = processes_with_env(marker);
    for _ in 0..50 {
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        left = processes_with_env(marker);
    }
    left
}

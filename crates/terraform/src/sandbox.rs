//! Isolating Terraform with bubblewrap (`bwrap`): a planned configuration runs code
//! (`file()`, `/proc`, `external` data sources, providers), so Terraform gets a fresh mount
//! namespace that holds only the system directories (read-only), the terraform binary, the
//! shared plugin cache, its own run's work dir and the paths the operator lists; its own
//! PID namespace and `/proc`; a private `/tmp` and `/dev`; no capabilities. The network
//! stays: providers call cloud APIs. The App key, the credentials file, the database, the
//! run logs and other runs' work dirs are simply not there.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// How Terraform is isolated (`PROMPTOPS_TERRAFORM_SANDBOX`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SandboxMode {
    /// In a bubblewrap sandbox (the default).
    #[default]
    Bubblewrap,
    /// Not at all: Terraform can read every file the service can. Only by explicit choice.
    Off,
}

impl std::str::FromStr for SandboxMode {
    type Err = String;

    fn from_str(text: &str) -> Result<SandboxMode, String> {
        match text.trim() {
            "bwrap" | "bubblewrap" => Ok(SandboxMode::Bubblewrap),
            "off" => Ok(SandboxMode::Off),
            other => Err(format!(
                "{other:?} is not a Terraform sandbox mode: use `bwrap` (isolate Terraform with bubblewrap, the default) or `off` (no isolation)"
            )),
        }
    }
}

impl std::fmt::Display for SandboxMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SandboxMode::Bubblewrap => "bwrap",
            SandboxMode::Off => "off",
        })
    }
}

/// The sandbox settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxConfig {
    pub mode: SandboxMode,
    /// The bubblewrap binary; a bare name is looked up on PATH.
    pub bwrap: PathBuf,
    /// Paths Terraform may read (e.g. a credentials file, a launcher's installation).
    pub read_only: Vec<PathBuf>,
    /// Paths Terraform may write (e.g. the directory of a local backend's state files).
    pub writable: Vec<PathBuf>,
    /// The step server (the `promptops` binary): when set, a run's Terraform commands run
    /// through it in two sandboxes, one for `init` and one for every later command (see
    /// [`crate::step_server`]), instead of one sandbox each.
    pub step_server: Option<PathBuf>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            mode: SandboxMode::Bubblewrap,
            bwrap: PathBuf::from("bwrap"),
            read_only: Vec::new(),
            writable: Vec::new(),
            step_server: None,
        }
    }
}

/// Top-level directories that hold programs and libraries: read-only in the sandbox (or
/// the same symlink, on merged-/usr systems).
const SYSTEM_DIRS: &[&str] = &[
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
];

/// What of `/etc` name resolution, TLS and user lookup need.
const ETC_PATHS: &[&str] = &[
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/nsswitch.conf",
    "/etc/host.conf",
    "/etc/gai.conf",
    "/etc/passwd",
    "/etc/group",
    "/etc/localtime",
    "/etc/ssl",
    "/etc/ca-certificates",
    "/etc/pki",
    "/etc/alternatives",
];

/// What one command in the sandbox may reach besides the system directories.
#[derive(Debug, Clone, Copy)]
pub struct Mounts<'a> {
    /// The shared plugin cache; `None` for the start check.
    pub plugin_cache: Option<&'a Path>,
    /// Whether the plugin cache is writable. Only `init` installs providers, and it runs
    /// none of the configuration's code; every later command (plan, apply, show) runs that
    /// code and sees the cache read-only, so one run cannot plant a provider binary that a
    /// later run (another PR's, or an apply with the cloud credentials) would start. What
    /// `init` installs comes only from the registry and the operator's mirrors: the CLI
    /// configuration (`cli_config`) keeps Terraform off the implied mirrors, such as the
    /// module's own `terraform.d/plugins`, which the PR writes.
    pub plugin_cache_writable: bool,
    /// The runner's Terraform CLI configuration (`TF_CLI_CONFIG_FILE`), bound read-only.
    pub cli_config: Option<&'a Path>,
    /// This run's work dir (writable); `None` for `terraform version`.
    pub run_dir: Option<&'a Path>,
    /// Another binary the command starts (the terraform a step server runs), bound
    /// read-only where it is.
    pub also_binary: Option<&'a Path>,
}

/// Why the sandbox cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error(
        "bubblewrap ({bwrap}) cannot be started: {source}. Install it (Debian/Ubuntu: apt-get install bubblewrap), or set PROMPTOPS_TERRAFORM_SANDBOX=off to run Terraform without isolation (it can then read the App key, the database and every other file this service can)"
    )]
    Missing {
        bwrap: String,
        source: std::io::Error,
    },
    #[error(
        "bubblewrap ({bwrap}) cannot create its namespaces here: {stderr}. Allow them (a non-root service needs unprivileged user namespaces: sysctl kernel.unprivileged_userns_clone=1 or user.max_user_namespaces > 0; in a container, a seccomp and AppArmor profile that permit unshare/mount, see deploy/README.md), or set PROMPTOPS_TERRAFORM_SANDBOX=off to run Terraform without isolation (it can then read the App key, the database and every other file this service can)"
    )]
    CannotIsolate { bwrap: String, stderr: String },
    #[error(
        "the Terraform step server ({server}, the promptops binary itself) cannot start in the sandbox: {stderr}. Run the service from an executable binary under a directory the sandbox shows (the system directories or PROMPTOPS_TERRAFORM_BIND_RO)"
    )]
    StepServer { server: String, stderr: String },
    #[error(
        "the Terraform sandbox path {path} does not exist; list only existing paths (PROMPTOPS_TERRAFORM_BIND, PROMPTOPS_TERRAFORM_BIND_RO)"
    )]
    MissingPath { path: PathBuf },
}

impl SandboxConfig {
    /// A sandbox that is off.
    pub fn off() -> SandboxConfig {
        SandboxConfig {
            mode: SandboxMode::Off,
            ..SandboxConfig::default()
        }
    }

    /// One line for logs and `promptops check`.
    pub fn describe(&self) -> String {
        match self.mode {
            SandboxMode::Bubblewrap => format!(
                "bubblewrap ({}): Terraform sees only the system dirs, its run's work dir, the plugin cache and {} listed path(s)",
                self.bwrap.display(),
                self.read_only.len() + self.writable.len()
            ),
            SandboxMode::Off => "off: Terraform runs unisolated and can read every file this service can (PROMPTOPS_TERRAFORM_SANDBOX=off)".into(),
        }
    }

    /// The program and arguments that run `program args` in `cwd` inside the sandbox (or
    /// as they are when it is off); the program (e.g. the terraform binary) is bound
    /// read-only where it is.
    pub fn command(
        &self,
        program: &Path,
        args: Vec<OsString>,
        cwd: &Path,
        mounts: Mounts<'_>,
    ) -> (PathBuf, Vec<OsString>) {
        match self.mode {
            SandboxMode::Off => (program.to_path_buf(), args),
            SandboxMode::Bubblewrap => {
                let program = find_program(program);
                let mut wrapped = self.bwrap_args(&program, cwd, mounts);
                wrapped.push("--".into());
                wrapped.push(program.into_os_string());
                wrapped.extend(args);
                (self.bwrap.clone(), wrapped)
            }
        }
    }

    /// The program and arguments that start a step server for `terraform` in `cwd` inside
    /// the sandbox; `None` when the sandbox is off or no step server is set (each command
    /// then starts on its own).
    pub fn step_server_command(
        &self,
        terraform: &Path,
        cwd: &Path,
        mounts: Mounts<'_>,
    ) -> Option<(PathBuf, Vec<OsString>)> {
        let server = self.step_server.as_deref()?;
        if self.mode == SandboxMode::Off {
            return None;
        }
        let terraform = find_program(terraform);
        let args = vec![
            OsString::from(crate::step_server::STEP_SERVER_ARG),
            terraform.clone().into_os_string(),
        ];
        let mounts = Mounts {
            also_binary: Some(&terraform),
            ..mounts
        };
        Some(self.command(server, args, cwd, mounts))
    }

    /// bubblewrap's options (everything before `--`). Later mounts go on top of earlier
    /// ones, so the binds come after the private `/tmp`.
    pub fn bwrap_args(&self, program: &Path, cwd: &Path, mounts: Mounts<'_>) -> Vec<OsString> {
        let mut args = Args::default();
        args.flags(&[
            "--die-with-parent",
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--cap-drop",
            "ALL",
            "--hostname",
            "promptops-terraform",
        ]);
        for dir in SYSTEM_DIRS.iter().map(Path::new) {
            match std::fs::read_link(dir) {
                Ok(target) => args.pair("--symlink", &target, dir),
                Err(_) if dir.is_dir() => args.pair("--ro-bind", dir, dir),
                Err(_) => {}
            }
        }
        for path in ETC_PATHS {
            args.pair("--ro-bind-try", Path::new(path), Path::new(path));
        }
        args.one("--proc", Path::new("/proc"));
        args.one("--dev", Path::new("/dev"));
        args.one("--tmpfs", Path::new("/tmp"));
        for binary in std::iter::once(program).chain(mounts.also_binary) {
            let binary = std::fs::canonicalize(binary).unwrap_or_else(|_| binary.to_path_buf());
            args.pair("--ro-bind", &binary, &binary);
        }
        for path in &self.read_only {
            args.pair("--ro-bind", path, path);
        }
        if let Some(cache) = mounts.plugin_cache {
            let bind = if mounts.plugin_cache_writable {
                "--bind"
            } else {
                "--ro-bind"
            };
            args.pair(bind, cache, cache);
        }
        for path in &self.writable {
            args.pair("--bind", path, path);
        }
        if let Some(run_dir) = mounts.run_dir {
            args.pair("--bind", run_dir, run_dir);
        }
        // Last, so that no writable bind covers it.
        if let Some(cli_config) = mounts.cli_config {
            args.pair("--ro-bind", cli_config, cli_config);
        }
        args.one("--chdir", cwd);
        args.0
    }

    /// Checks that every listed path exists and that bubblewrap can create its sandbox
    /// here, by running `true` in one (and, when one is set, that the step server starts
    /// in one).
    pub fn probe(&self) -> Result<(), SandboxError> {
        if self.mode == SandboxMode::Off {
            return Ok(());
        }
        if let Some(path) = self
            .read_only
            .iter()
            .chain(&self.writable)
            .find(|path| !path.exists())
        {
            return Err(SandboxError::MissingPath { path: path.clone() });
        }
        let truth = Path::new("/usr/bin/true");
        let mounts = Mounts {
            plugin_cache: None,
            plugin_cache_writable: false,
            cli_config: None,
            run_dir: None,
            also_binary: None,
        };
        let (program, args) = self.command(truth, Vec::new(), Path::new("/"), mounts);
        self.run_probe(program, args).map_err(|failed| {
            failed.into_error(|stderr| SandboxError::CannotIsolate {
                bwrap: self.bwrap.display().to_string(),
                stderr,
            })
        })?;
        // The step server, with no request: it starts, finds its input ended and exits. The
        // sandbox itself worked just above, so a failure here is the server's.
        match self.step_server_command(truth, Path::new("/"), mounts) {
            Some((program, args)) => self.run_probe(program, args).map_err(|failed| {
                failed.into_error(|stderr| SandboxError::StepServer {
                    server: self
                        .step_server
                        .as_deref()
                        .map(|path| path.display().to_string())
                        .unwrap_or_default(),
                    stderr,
                })
            }),
            None => Ok(()),
        }
    }

    /// Runs one probe command; `Err` holds what it said (or how it exited) when it failed.
    fn run_probe(&self, program: PathBuf, args: Vec<OsString>) -> Result<(), ProbeFailed> {
        let bwrap = self.bwrap.display().to_string();
        let output = std::process::Command::new(program)
            .args(args)
            .env_clear()
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|source| {
                ProbeFailed::Missing(SandboxError::Missing {
                    bwrap: bwrap.clone(),
                    source,
                })
            })?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
            return Err(ProbeFailed::Said(if stderr.is_empty() {
                format!("it exited with {}", output.status)
            } else {
                stderr
            }));
        }
        Ok(())
    }
}

/// How a probe command failed: it could not be started at all (bubblewrap missing), or it
/// ran and failed, saying this.
enum ProbeFailed {
    Missing(SandboxError),
    Said(String),
}

impl ProbeFailed {
    /// The error to report: bubblewrap missing as such, otherwise `said` of what it said.
    fn into_error(self, said: impl FnOnce(String) -> SandboxError) -> SandboxError {
        match self {
            ProbeFailed::Missing(err) => err,
            ProbeFailed::Said(stderr) => said(stderr),
        }
    }
}

/// bubblewrap's argument list.
#[derive(Default)]
struct Args(Vec<OsString>);

impl Args {
    fn flags(&mut self, flags: &[&str]) {
        self.0.extend(flags.iter().map(OsString::from));
    }

    fn one(&mut self, flag: &str, path: &Path) {
        self.0.push(flag.into());
        self.0.push(path.as_os_str().to_owned());
    }

    fn pair(&mut self, flag: &str, source: &Path, dest: &Path) {
        self.0.push(flag.into());
        self.0.push(source.as_os_str().to_owned());
        self.0.push(dest.as_os_str().to_owned());
    }
}

/// The absolute path of `program`: as it is when it names a path, else the first match on
/// this process's PATH (the sandbox binds the binary where it is, so it needs the path).
pub(crate) fn find_program(program: &Path) -> PathBuf {
    if program.components().count() > 1 {
        return std::path::absolute(program).unwrap_or_else(|_| program.to_path_buf());
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| program.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[OsString]) -> Vec<String> {
        args.iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    /// The positions of `flag source dest` triples in `args`.
    fn has(args: &[String], triple: &[&str]) -> bool {
        args.windows(triple.len()).any(|w| w == triple)
    }

    #[test]
    fn bwrap_arguments_expose_only_what_the_run_needs() {
        let config = SandboxConfig {
            read_only: vec![PathBuf::from("/etc/gcp/sa.json")],
            writable: vec![PathBuf::from("/srv/state")],
            ..SandboxConfig::default()
        };
        let mounts = Mounts {
            plugin_cache: Some(Path::new("/var/lib/promptops/plugin-cache")),
            plugin_cache_writable: false,
            cli_config: Some(Path::new("/var/lib/promptops/cli-config/1.tfrc")),
            run_dir: Some(Path::new("/var/lib/promptops/d-plan-x1")),
            also_binary: None,
        };
        let (program, args) = config.command(
            Path::new("/opt/tf/terraform"),
            vec!["plan".into(), "-input=false".into()],
            Path::new("/var/lib/promptops/d-plan-x1/src/terraform"),
            mounts,
        );
        assert_eq!(program, PathBuf::from("bwrap"));
        let args = strings(&args);
        for flag in ["--die-with-parent", "--unshare-pid", "--unshare-ipc"] {
            assert!(args.contains(&flag.to_owned()), "{flag} missing: {args:?}");
        }
        assert!(
            !args.contains(&"--unshare-net".to_owned()),
            "providers need the network"
        );
        assert!(has(&args, &["--proc", "/proc"]));
        // A plan runs the configuration's code: the shared cache must not be writable.
        let cache = "/var/lib/promptops/plugin-cache";
        assert!(has(&args, &["--ro-bind", cache, cache]), "{args:?}");
        assert!(!has(&args, &["--bind", cache, cache]), "{args:?}");
        assert!(has(&args, &["--dev", "/dev"]));
        assert!(has(&args, &["--tmpfs", "/tmp"]));
        assert!(has(
            &args,
            &["--ro-bind", "/etc/gcp/sa.json", "/etc/gcp/sa.json"]
        ));
        assert!(has(&args, &["--bind", "/srv/state", "/srv/state"]));
        // The CLI configuration is the runner's: read-only, and bound after every
        // writable bind so that none covers it.
        let cli_config = "/var/lib/promptops/cli-config/1.tfrc";
        assert!(
            has(&args, &["--ro-bind", cli_config, cli_config]),
            "{args:?}"
        );
        let last_bind = args.iter().rposition(|a| a == "--bind").unwrap();
        assert!(args.iter().rposition(|a| a == cli_config).unwrap() > last_bind);
        assert!(has(
            &args,
            &[
                "--bind",
                "/var/lib/promptops/d-plan-x1",
                "/var/lib/promptops/d-plan-x1"
            ]
        ));
        assert!(has(
            &args,
            &["--ro-bind", "/opt/tf/terraform", "/opt/tf/terraform"]
        ));
        assert!(has(
            &args,
            &["--chdir", "/var/lib/promptops/d-plan-x1/src/terraform"]
        ));
        assert!(has(
            &args,
            &["--", "/opt/tf/terraform", "plan", "-input=false"]
        ));
        // Nothing of the service's own directories: only the run dir under the work root.
        assert!(!args.iter().any(|a| a == "/var/lib/promptops"), "{args:?}");
        // Writable binds come after the private /tmp, so a path under /tmp stays visible.
        let tmpfs = args.iter().position(|a| a == "--tmpfs").unwrap();
        let run_bind = args
            .iter()
            .position(|a| a == "/var/lib/promptops/d-plan-x1")
            .unwrap();
        assert!(tmpfs < run_bind);
    }

    #[test]
    fn off_runs_the_command_as_it_is() {
        let mounts = Mounts {
            plugin_cache: Some(Path::new("/c")),
            plugin_cache_writable: true,
            cli_config: None,
            run_dir: None,
            also_binary: None,
        };
        let (program, args) = SandboxConfig::off().command(
            Path::new("terraform"),
            vec!["version".into()],
            Path::new("/"),
            mounts,
        );
        assert_eq!(program, PathBuf::from("terraform"));
        assert_eq!(strings(&args), ["version"]);
    }

    #[test]
    fn modes_parse_and_a_bad_one_names_the_choices() {
        assert_eq!("bwrap".parse::<SandboxMode>(), Ok(SandboxMode::Bubblewrap));
        assert_eq!("off".parse::<SandboxMode>(), Ok(SandboxMode::Off));
        let err = "none".parse::<SandboxMode>().unwrap_err();
        assert!(err.contains("`bwrap`") && err.contains("`off`"), "{err}");
    }

    #[test]
    fn a_missing_bwrap_names_the_package_and_the_opt_out() {
        let config = SandboxConfig {
            bwrap: PathBuf::from("/nonexistent/bwrap"),
            ..SandboxConfig::default()
        };
        let err = config.probe().unwrap_err().to_string();
        assert!(err.contains("apt-get install bubblewrap"), "{err}");
        assert!(err.contains("PROMPTOPS_TERRAFORM_SANDBOX=off"), "{err}");
    }

    #[test]
    fn a_listed_path_that_does_not_exist_is_named() {
        let config = SandboxConfig {
            writable: vec![PathBuf::from("/nonexistent/state")],
            ..SandboxConfig::default()
        };
        let err = config.probe().unwrap_err().to_string();
        assert!(err.contains("/nonexistent/state"), "{err}");
    }
}

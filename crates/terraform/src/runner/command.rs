//! The command line and environment of one terraform command: inside the sandbox, with
//! the allowlisted environment and the variables the runner sets itself.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use secrecy::ExposeSecret;

use super::{Runner, Workspace};
use crate::cli_config::CLI_CONFIG_VAR;
use crate::process::Invocation;
use crate::sandbox::Mounts;
use crate::step_server::{Launcher, PendingSession};

impl Runner {
    /// `terraform <args>` in the run's module dir.
    pub(super) fn invocation(
        &self,
        ws: &Workspace,
        args: &[&str],
        stdout_file: Option<PathBuf>,
    ) -> Invocation {
        let config = &self.inner.config;
        let mounts = Mounts {
            plugin_cache: Some(&config.plugin_cache_dir),
            plugin_cache_writable: args.first() == Some(&"init"),
            cli_config: Some(&self.inner.cli_config),
            run_dir: Some(&ws.run_dir),
            also_binary: None,
        };
        let (program, args) = config.sandbox.command(
            &config.terraform_bin,
            args.iter().map(OsString::from).collect(),
            &ws.module,
            mounts,
        );
        Invocation {
            program,
            args,
            cwd: ws.module.clone(),
            env: self.env(&ws.run_dir.join("home")),
            stdout_file,
        }
    }

    /// A sandbox with a step server for the run in `run_dir`, starting: with the plugin
    /// cache writable (for `init` alone) or read-only (for every later command). `None`
    /// when the sandbox is off or no step server is set (each command then starts alone).
    pub(super) fn start_session(
        &self,
        run_dir: &Path,
        cache_writable: bool,
    ) -> Option<PendingSession> {
        let config = &self.inner.config;
        let mounts = Mounts {
            plugin_cache: Some(&config.plugin_cache_dir),
            plugin_cache_writable: cache_writable,
            cli_config: Some(&self.inner.cli_config),
            run_dir: Some(run_dir),
            also_binary: None,
        };
        // The module dir does not exist yet (the source comes later): each request names
        // the directory it runs in.
        let command = config
            .sandbox
            .step_server_command(&config.terraform_bin, run_dir, mounts)?;
        let server = config.sandbox.step_server.clone()?;
        let env = self.env(&run_dir.join("home"));
        let binaries = (server, config.terraform_bin.clone());
        let launcher = match self.inner.launcher.get() {
            Some(launcher) => launcher,
            None => match Launcher::new() {
                // Two first runs at once may both make one: the one not kept ends unused.
                Ok(launcher) => self.inner.launcher.get_or_init(|| launcher),
                Err(err) => {
                    let message = format!("no thread to start it: {err}");
                    return Some(PendingSession::failed(&config.terraform_bin, message));
                }
            },
        };
        Some(launcher.start(command, run_dir.to_path_buf(), env, binaries))
    }

    /// `terraform version -json`, outside any run: no work dir, the same environment.
    pub(super) fn version_command(&self) -> tokio::process::Command {
        let config = &self.inner.config;
        let mounts = Mounts {
            plugin_cache: Some(&config.plugin_cache_dir),
            plugin_cache_writable: false,
            cli_config: Some(&self.inner.cli_config),
            run_dir: None,
            also_binary: None,
        };
        let root = Path::new("/");
        let (program, args) = config.sandbox.command(
            &config.terraform_bin,
            vec!["version".into(), "-json".into()],
            root,
            mounts,
        );
        let mut command = tokio::process::Command::new(program);
        command
            .args(args)
            .current_dir(root)
            .env_clear()
            .envs(self.env(root));
        command
    }

    /// The allowlisted settings and credentials, then what the runner sets itself (which
    /// wins over an allowlisted variable of the same name).
    fn env(&self, home: &Path) -> Vec<(OsString, OsString)> {
        let config = &self.inner.config;
        let mut env: Vec<(OsString, OsString)> = Vec::new();
        env.extend(config.env.iter().map(|(k, v)| (k.into(), v.into())));
        env.extend(
            config
                .secret_env
                .iter()
                .map(|(k, v)| (k.into(), v.expose_secret().into())),
        );
        // The operator's CLI configuration is in the runner's (see `crate::cli_config`).
        env.retain(|(name, _)| name != CLI_CONFIG_VAR);
        env.extend([
            ("TF_IN_AUTOMATION".into(), "1".into()),
            ("TF_INPUT".into(), "0".into()),
            ("CHECKPOINT_DISABLE".into(), "1".into()),
            (
                CLI_CONFIG_VAR.into(),
                self.inner.cli_config.clone().into_os_string(),
            ),
            (
                "TF_PLUGIN_CACHE_DIR".into(),
                config.plugin_cache_dir.clone().into_os_string(),
            ),
            // Without it, an init whose work dir has no lock file entry for a provider
            // (every run starts from a fresh checkout) installs it again into the cache,
            // replacing the files other runs' plans are executing at that moment, and
            // downloads every provider on every run. With it, an init links the cached
            // package unchecked (a lock file the repository commits is still checked
            // against it), so the cache is trusted as it is: it holds only what inits
            // installed from the registry (signatures checked) or the operator's mirrors,
            // because the CLI configuration keeps the PR's own `terraform.d/plugins` out,
            // and no command but init can write it.
            (
                "TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE".into(),
                "1".into(),
            ),
            ("HOME".into(), home.as_os_str().to_owned()),
        ]);
        env
    }
}

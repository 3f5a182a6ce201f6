//! The CLI configuration every Terraform command of the runner reads (`TF_CLI_CONFIG_FILE`):
//! the operator's own, if any, always with an explicit `provider_installation` block.
//!
//! Without such a block Terraform installs providers from "implied local mirrors" besides
//! the registry, and the first of them is `terraform.d/plugins` in the working directory:
//! the module dir, which the pull request writes (the plugins dirs under HOME come next, and
//! HOME is in the run's writable work dir too). A package installed from there lands in
//! the shared plugin cache, and later inits (other pull requests' plans, applies with the
//! cloud credentials) link it from the cache unchecked (see
//! `TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE` in `runner/command.rs`): one pull
//! request would plant a provider binary that every later run starts. With an explicit
//! block Terraform consults no implied mirror. When the operator's configuration has none,
//! the runner adds one that installs as Terraform would without it, minus the directories a
//! run can write: the system-wide data dirs' mirrors (`/usr/share/terraform/plugins` and the
//! like, the operator's, read-only in the sandbox) as filesystem mirrors, then the registry
//! for every provider they do not hold.
//!
//! The file is written once, when the runner is created, under the work root (0700, not
//! shown to the sandbox but for this one file, bound read-only): a run cannot change what a
//! later run reads. A change to the operator's file takes a restart.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use secrecy::ExposeSecret as _;

use crate::config::RunnerConfig;
use crate::error::RunnerError;
use crate::private_files::create_private_dir;

/// The variable Terraform reads its CLI configuration's path from.
pub(crate) const CLI_CONFIG_VAR: &str = "TF_CLI_CONFIG_FILE";

/// The work root's subdirectory that holds the written configurations.
const CLI_CONFIG_DIR: &str = "cli-config";

/// What `version -json` (every command) prints when Terraform's CLI configuration has an
/// error: with a syntax error Terraform goes on without the file, that is with the implied
/// mirrors. Printed only for errors, not for warnings.
pub(crate) const CLI_CONFIG_ERRORS: &str = "As a result of the above problems";

/// Writes the runner's CLI configuration under the work root; returns its path. The name
/// is the content's digest, so runners sharing a work root with different settings never
/// overwrite each other's, and one with the same settings rewrites the same file.
pub(crate) fn write(config: &RunnerConfig) -> Result<PathBuf, RunnerError> {
    let operator = operator_config(config)?;
    let mirrors = operator_mirrors(|name| terraform_env(config, name));
    let text = compose(
        operator.as_ref().map(|(p, t)| (p.as_path(), t.as_str())),
        &mirrors,
    )
    .map_err(|message| RunnerError::InvalidConfig {
        setting: CLI_CONFIG_VAR,
        message,
    })?;
    let dir = config.work_root.join(CLI_CONFIG_DIR);
    create_private_dir(&dir).map_err(RunnerError::io(format!(
        "create {} (mode 0700)",
        dir.display()
    )))?;
    let path = dir.join(format!("{:016x}.tfrc", fnv1a(text.as_bytes())));
    let what = format!("write the Terraform CLI configuration {}", path.display());
    // Written aside and renamed: a sandbox binding the file sees it whole.
    let mut file = tempfile::NamedTempFile::new_in(&dir).map_err(RunnerError::io(&what))?;
    file.write_all(text.as_bytes())
        .map_err(RunnerError::io(&what))?;
    file.persist(&path)
        .map_err(|err| RunnerError::io(&what)(err.error))?;
    Ok(path)
}

/// The value of `name` in Terraform's environment as the operator set it: a credential
/// wins over a setting of the same name, as it comes later in the environment.
fn terraform_env(config: &RunnerConfig, name: &str) -> Option<String> {
    let credential = config.secret_env.iter().rev().find(|(key, _)| key == name);
    let setting = config.env.iter().rev().find(|(key, _)| key == name);
    credential
        .map(|(_, value)| value.expose_secret().to_owned())
        .or_else(|| setting.map(|(_, value)| value.clone()))
}

/// The operator's CLI configuration file and its text, when Terraform's environment names
/// one. A file that cannot be read fails the start: going on without it would drop the
/// operator's mirrors and credentials without a word.
fn operator_config(config: &RunnerConfig) -> Result<Option<(PathBuf, String)>, RunnerError> {
    let Some(path) = terraform_env(config, CLI_CONFIG_VAR).filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let path = PathBuf::from(path);
    let text = std::fs::read_to_string(&path).map_err(|err| RunnerError::InvalidConfig {
        setting: CLI_CONFIG_VAR,
        message: format!(
            "Terraform's CLI configuration file {} cannot be read: {err}",
            path.display()
        ),
    })?;
    Ok(Some((path, text)))
}

/// The configuration to write: the operator's as it is when it has a
/// `provider_installation` block, otherwise with the runner's after it.
fn compose(operator: Option<(&Path, &str)>, mirrors: &[PathBuf]) -> Result<String, String> {
    let mut text = String::from(
        "# Written by PromptOps (TF_CLI_CONFIG_FILE of every Terraform command it runs):\n\
         # the operator's CLI configuration, if any, with an explicit provider_installation\n\
         # block, so that no implied local mirror (the module's terraform.d/plugins) is used.\n",
    );
    let Some((path, operator)) = operator else {
        text.push_str(&installation_block(mirrors));
        return Ok(text);
    };
    if operator.trim_start().starts_with('{') {
        // JSON syntax: a block appended in HCL would make the whole file unreadable.
        return match serde_json::from_str::<serde_json::Value>(operator) {
            Ok(json) if json.get("provider_installation").is_some() => Ok(operator.to_owned()),
            _ => Err(format!(
                "the CLI configuration {} is in JSON and has no provider_installation block; write it in HCL, or add the block (the runner adds one only to an HCL file)",
                path.display()
            )),
        };
    }
    text.push_str(operator);
    if !declares_provider_installation(operator) {
        text.push_str("\n\n# Added by PromptOps: the operator's configuration has no provider_installation.\n");
        text.push_str(&installation_block(mirrors));
    }
    Ok(text)
}

/// The `provider_installation` block the runner adds: each of `mirrors`, then the registry
/// for the providers none of them holds (as Terraform's implied installation does).
fn installation_block(mirrors: &[PathBuf]) -> String {
    let mut block = String::from("provider_installation {\n");
    let mut local: Vec<String> = Vec::new();
    for mirror in mirrors {
        block.push_str(&format!(
            "  filesystem_mirror {{\n    path = {}\n  }}\n",
            hcl_string(&mirror.to_string_lossy())
        ));
        local.extend(providers_in(mirror));
    }
    local.sort();
    local.dedup();
    if local.is_empty() {
        block.push_str("  direct {}\n");
    } else {
        let listed: Vec<String> = local.iter().map(|p| hcl_string(p)).collect();
        block.push_str(&format!(
            "  direct {{\n    exclude = [{}]\n  }}\n",
            listed.join(", ")
        ));
    }
    block.push_str("}\n");
    block
}

/// The implied mirrors Terraform searches that are the operator's: `terraform/plugins` in
/// XDG_DATA_HOME (only when set: by default it is under HOME, the run's) and in each of
/// XDG_DATA_DIRS (by default /usr/local/share and /usr/share), those that exist. A relative
/// entry would be the module dir's: left out.
fn operator_mirrors(env: impl Fn(&str) -> Option<String>) -> Vec<PathBuf> {
    let data_dirs = env("XDG_DATA_DIRS")
        .filter(|dirs| !dirs.is_empty())
        .unwrap_or_else(|| "/usr/local/share:/usr/share".to_owned());
    let mut mirrors: Vec<PathBuf> = Vec::new();
    let candidates = env("XDG_DATA_HOME")
        .into_iter()
        .chain(data_dirs.split(':').map(str::to_owned));
    for dir in candidates.map(PathBuf::from).filter(|d| d.is_absolute()) {
        let mirror = dir.join("terraform/plugins");
        if mirror.is_dir() && !mirrors.contains(&mirror) && !hcl_unsafe(&mirror) {
            mirrors.push(mirror);
        }
    }
    mirrors
}

/// The providers (`host/namespace/type`) a filesystem mirror holds a package of, in either
/// layout (`type/version/platform/` or `type/terraform-provider-…zip`); names Terraform
/// would not parse are left out.
fn providers_in(mirror: &Path) -> Vec<String> {
    let subdirs = |dir: &Path| -> Vec<(String, PathBuf)> {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|entry| entry.path().is_dir())
            .filter_map(|entry| Some((entry.file_name().into_string().ok()?, entry.path())))
            .collect()
    };
    let mut found = Vec::new();
    for (host, host_dir) in subdirs(mirror).into_iter().filter(|(h, _)| valid_host(h)) {
        for (namespace, ns_dir) in subdirs(&host_dir) {
            for (kind, type_dir) in subdirs(&ns_dir) {
                let holds_any = std::fs::read_dir(&type_dir).is_ok_and(|mut e| e.next().is_some());
                if holds_any && valid_part(&namespace) && valid_part(&kind) {
                    found.push(format!("{host}/{namespace}/{kind}"));
                }
            }
        }
    }
    found
}

fn valid_host(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
}

fn valid_part(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
}

/// A path that cannot be written as an HCL string as it is.
fn hcl_unsafe(path: &Path) -> bool {
    path.to_str()
        .is_none_or(|p| p.chars().any(|c| c.is_control()))
}

/// `text` as a quoted HCL string.
fn hcl_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// FNV-1a: a digest that is the same in every build (the file's name must not change
/// between releases for the same content).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Whether an HCL CLI configuration has a top-level `provider_installation` (a bare
/// identifier outside comments, strings and heredocs, at nesting depth 0). Errs towards
/// "no": the runner then adds a second block, which Terraform reports as an error that
/// [`CLI_CONFIG_ERRORS`] catches before any run, never an implied mirror in use.
pub(crate) fn declares_provider_installation(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut at = 0;
    while at < bytes.len() {
        let rest = &text[at..];
        at += match bytes[at] {
            b'#' => line_length(rest),
            b'/' if rest.starts_with("//") => line_length(rest),
            b'/' if rest.starts_with("/*") => rest.find("*/").map_or(rest.len(), |end| end + 2),
            b'"' => string_length(rest),
            b'<' if rest.starts_with("<<") => heredoc_length(rest),
            b'{' | b'[' => {
                depth += 1;
                1
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                1
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let word = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
                    .unwrap_or(rest.len());
                if depth == 0 && &rest[..word] == "provider_installation" {
                    return true;
                }
                word
            }
            _ => rest.chars().next().map_or(1, char::len_utf8),
        };
    }
    false
}

/// Up to and including the end of the line.
fn line_length(rest: &str) -> usize {
    rest.find('\n').map_or(rest.len(), |end| end + 1)
}

/// A quoted string with its quotes (backslash escapes skipped).
fn string_length(rest: &str) -> usize {
    let mut escaped = false;
    for (i, c) in rest.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return i + 1,
            '\n' => return i,
            _ => {}
        }
    }
    rest.len()
}

/// `<<MARKER` or `<<-MARKER` up to the line that holds only the marker.
fn heredoc_length(rest: &str) -> usize {
    let head = line_length(rest);
    let marker = rest[2..head].trim_start_matches('-').trim();
    if marker.is_empty() {
        return 2;
    }
    let mut at = head;
    while at < rest.len() {
        let line = line_length(&rest[at..]);
        at += line;
        if rest[at - line..at].trim() == marker {
            return at;
        }
    }
    rest.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_top_level_provider_installation_is_found_and_nothing_else_counts() {
        let declared = [
            "provider_installation {\n  direct {}\n}\n",
            "credentials \"app.terraform.io\" {\n  token = \"x\"\n}\nprovider_installation {\n  direct {}\n}\n",
            "provider_installation = {\n  direct = {}\n}\n",
        ];
        for text in declared {
            assert!(declares_provider_installation(text), "{text}");
        }
        let not_declared = [
            "",
            "# provider_installation {\n",
            "// provider_installation {\n",
            "/* provider_installation {\n  direct {}\n} */\n",
            "disable_checkpoint = \"provider_installation\"\n",
            "host \"example.com\" {\n  provider_installation {}\n}\n",
            "x = <<EOF\nprovider_installation {\n}\nEOF\n",
            "x = <<-EOT\n  provider_installation {}\n  EOT\n",
            "provider_installation_other {}\n",
            "\"provider_installation\" {\n  direct {}\n}\n",
            "s = \"a \\\" provider_installation\"\n",
        ];
        for text in not_declared {
            assert!(!declares_provider_installation(text), "{text}");
        }
        // What follows a heredoc is read again.
        assert!(declares_provider_installation(
            "x = <<EOF\ntext\nEOF\nprovider_installation {\n  direct {}\n}\n"
        ));
    }

    #[test]
    fn without_an_operator_configuration_only_the_registry_installs() {
        let text = compose(None, &[]).unwrap();
        assert!(
            text.contains("provider_installation {\n  direct {}\n}\n"),
            "{text}"
        );
        assert!(declares_provider_installation(&text));
    }

    #[test]
    fn an_operator_block_is_kept_alone_and_a_missing_one_is_added() {
        let path = Path::new("/etc/terraformrc");
        let own = "provider_installation {\n  filesystem_mirror {\n    path = \"/m\"\n  }\n}\n";
        let text = compose(Some((path, own)), &[]).unwrap();
        assert!(text.ends_with(own), "{text}");
        assert_eq!(text.matches("provider_installation {").count(), 1, "{text}");

        let credentials = "credentials \"app.terraform.io\" {\n  token = \"t\"\n}\n";
        let text = compose(Some((path, credentials)), &[]).unwrap();
        assert!(text.contains(credentials), "{text}");
        assert!(text.contains("  direct {}\n"), "{text}");
    }

    #[test]
    fn json_configurations_are_kept_with_a_block_and_refused_without() {
        let path = Path::new("/etc/terraformrc.json");
        let with = r#"{"provider_installation": {"direct": {}}}"#;
        assert_eq!(compose(Some((path, with)), &[]).unwrap(), with);
        let without = r#"{"disable_checkpoint": true}"#;
        let err = compose(Some((path, without)), &[]).unwrap_err();
        assert!(
            err.contains("/etc/terraformrc.json") && err.contains("JSON"),
            "{err}"
        );
    }

    #[test]
    fn the_operators_system_mirrors_stay_and_their_providers_skip_the_registry() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("share");
        let mirror = data.join("terraform/plugins");
        let unpacked = mirror.join("registry.terraform.io/hashicorp/google/6.50.0/linux_amd64");
        std::fs::create_dir_all(&unpacked).unwrap();
        let packed = mirror.join("example.com/acme/thing");
        std::fs::create_dir_all(&packed).unwrap();
        std::fs::write(
            packed.join("terraform-provider-thing_1.0.0_linux_amd64.zip"),
            "",
        )
        .unwrap();
        std::fs::create_dir_all(mirror.join("registry.terraform.io/hashicorp/empty")).unwrap();

        let data_dirs = format!("relative/share:{}:/nonexistent/share", data.display());
        let env = |name: &str| (name == "XDG_DATA_DIRS").then(|| data_dirs.clone());
        let mirrors = operator_mirrors(env);
        assert_eq!(mirrors, std::slice::from_ref(&mirror));

        let block = installation_block(&mirrors);
        let expected = format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path = \"{}\"\n  }}\n  direct {{\n    exclude = [\"example.com/acme/thing\", \"registry.terraform.io/hashicorp/google\"]\n  }}\n}}\n",
            mirror.display()
        );
        assert_eq!(block, expected);
    }

    #[test]
    fn the_data_home_counts_only_when_the_operator_sets_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("terraform/plugins")).unwrap();
        let home = dir.path().display().to_string();
        let set = |name: &str| match name {
            "XDG_DATA_HOME" => Some(home.clone()),
            "XDG_DATA_DIRS" => Some("/nonexistent".into()),
            _ => None,
        };
        assert_eq!(
            operator_mirrors(set),
            [dir.path().join("terraform/plugins")]
        );
        let unset = |name: &str| (name == "XDG_DATA_DIRS").then(|| "/nonexistent".to_owned());
        assert!(operator_mirrors(unset).is_empty());
    }

    #[test]
    fn paths_are_quoted_for_hcl() {
        assert_eq!(hcl_string(r#"/a "b" \c"#), r#""/a \"b\" \\c""#);
    }
}

//! Terraform versions: parsing `terraform version -json` and deciding what a configuration needs.

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// A Terraform release number (`1.14.1`); pre-release suffixes are ignored for comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TerraformVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

/// The first release whose actions run after the resource they follow (1.14.0 ran
/// `after_*` actions too early).
pub const ACTIONS_MIN_VERSION: TerraformVersion = TerraformVersion::new(1, 14, 1);

impl TerraformVersion {
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        TerraformVersion {
            major,
            minor,
            patch,
        }
    }

    /// Parses the output of `terraform version -json`.
    pub fn from_version_json(text: &str) -> Result<TerraformVersion, String> {
        #[derive(Deserialize)]
        struct VersionJson {
            terraform_version: String,
        }
        let parsed: VersionJson = serde_json::from_str(text).map_err(|err| {
            format!(
                "`terraform version -json` did not print the expected JSON ({err}); got: {}",
                text.chars().take(200).collect::<String>()
            )
        })?;
        parsed.terraform_version.parse()
    }
}

impl FromStr for TerraformVersion {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let core = text.trim().trim_start_matches('v');
        let core = core.split(['-', '+']).next().unwrap_or(core);
        let parts: Vec<&str> = core.split('.').collect();
        let number = |i: usize| -> Result<u32, String> {
            parts
                .get(i)
                .map_or(Ok(0), |p| p.parse::<u32>())
                .map_err(|_| {
                    format!("invalid Terraform version {text:?}: expected MAJOR.MINOR.PATCH")
                })
        };
        if parts.is_empty() || parts.len() > 3 || parts[0].is_empty() {
            return Err(format!(
                "invalid Terraform version {text:?}: expected MAJOR.MINOR.PATCH"
            ));
        }
        Ok(TerraformVersion::new(number(0)?, number(1)?, number(2)?))
    }
}

impl fmt::Display for TerraformVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// A minimum version and why it is needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRequirement {
    pub min: TerraformVersion,
    pub reason: String,
}

/// An `action` block or an `action_trigger` at the start of a line.
static DECLARES_ACTIONS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?m)^\s*(action\s+"|action_trigger\s*\{)"#).expect("action block pattern")
});

/// Whether the `.tf` files directly in `module_dir` declare `action` blocks or
/// `action_trigger`s (Terraform actions, which need [`ACTIONS_MIN_VERSION`]).
pub fn module_uses_actions(module_dir: &Path) -> std::io::Result<bool> {
    for entry in std::fs::read_dir(module_dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "tf") && path.is_file() {
            let text = std::fs::read_to_string(&path)?;
            if DECLARES_ACTIONS.is_match(&text) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_orders_versions() {
        let v = TerraformVersion::from_version_json(
            r#"{"terraform_version":"1.11.4","platform":"linux_amd64"}"#,
        )
        .unwrap();
        assert_eq!(v, TerraformVersion::new(1, 11, 4));
        assert!(v < ACTIONS_MIN_VERSION);
        assert!("1.14.1".parse::<TerraformVersion>().unwrap() >= ACTIONS_MIN_VERSION);
        assert_eq!(
            "1.15.0-beta2".parse::<TerraformVersion>().unwrap(),
            TerraformVersion::new(1, 15, 0)
        );
        assert!("one.two".parse::<TerraformVersion>().is_err());
        assert!(TerraformVersion::from_version_json("Terraform v1.2").is_err());
    }

    #[test]
    fn detects_action_blocks() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("main.tf"),
            "resource \"terraform_data\" \"x\" {}\n",
        )
        .unwrap();
        assert!(!module_uses_actions(dir.path()).unwrap());
        std::fs::write(
            dir.path().join("actions.tf"),
            "action \"aap_job_launch\" \"configure_vm\" {\n  config {}\n}\n",
        )
        .unwrap();
        assert!(module_uses_actions(dir.path()).unwrap());
    }
}

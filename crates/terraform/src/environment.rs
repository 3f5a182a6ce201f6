//! Terraform's environment, built from an allowlist: Terraform (and every provider and
//! `external` program a configuration starts) sees the variables named here and the ones
//! the runner sets itself, never the service's own settings and secrets.

use std::ffi::OsString;
use std::path::PathBuf;

use secrecy::SecretString;

/// System variables passed as they are: search path, locale, time zone, proxies, TLS
/// trust. `LC_*` covers the locale categories.
pub const SYSTEM_VARS: &[&str] = &[
    "PATH",
    "LANG",
    "LANGUAGE",
    "LC_*",
    "TZ",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "all_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
];

/// Whether `name` is a proxy setting (`HTTPS_PROXY`, `all_proxy`…), whose value may carry
/// a `user:password@` to mask.
pub fn is_proxy_var(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with("_proxy") && lower != "no_proxy"
}

/// Provider settings passed by default; not secret (a project id or an address).
pub const PROVIDER_SETTINGS: &[&str] = &[
    "GOOGLE_PROJECT",
    "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_REGION",
    "GOOGLE_ZONE",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_IMPERSONATE_SERVICE_ACCOUNT",
    "VAULT_ADDR",
    "VAULT_NAMESPACE",
    "VAULT_CACERT",
    "VAULT_CAPATH",
    "VAULT_CLIENT_CERT",
    "VAULT_CLIENT_KEY",
    "VAULT_SKIP_VERIFY",
    "VAULT_TLS_SERVER_NAME",
    "AAP_HOSTNAME",
    "AAP_USERNAME",
    "AAP_INSECURE_SKIP_VERIFY",
];

/// Provider credentials passed by default; their values are masked everywhere.
pub const PROVIDER_CREDENTIALS: &[&str] = &[
    "GOOGLE_CREDENTIALS",
    "GOOGLE_OAUTH_ACCESS_TOKEN",
    "VAULT_TOKEN",
    "AAP_TOKEN",
    "AAP_PASSWORD",
];

/// Allowlisted variables that name a file or directory Terraform must read: the sandbox
/// binds each path that exists read-only.
pub const PATH_VARS: &[&str] = &[
    "GOOGLE_APPLICATION_CREDENTIALS",
    "VAULT_CACERT",
    "VAULT_CAPATH",
    "VAULT_CLIENT_CERT",
    "VAULT_CLIENT_KEY",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
];

/// Allowlisted path variables whose file holds a credential (a service-account key, a TLS
/// client key): the service masks the secrets in the file's contents as well, since
/// Terraform can read the file and print it.
pub const CREDENTIAL_FILE_VARS: &[&str] = &["GOOGLE_APPLICATION_CREDENTIALS", "VAULT_CLIENT_KEY"];

/// One entry of the allowlist: a variable name, or `PREFIX_*` for every name that starts
/// with `PREFIX_`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvPattern {
    Exact(String),
    Prefix(String),
}

impl EnvPattern {
    /// Parses `NAME` or `PREFIX*`; names are letters, digits and `_`, not starting with a
    /// digit.
    pub fn parse(text: &str) -> Result<EnvPattern, EnvAllowlistError> {
        let text = text.trim();
        let (name, prefix) = match text.strip_suffix('*') {
            Some(stem) => (stem, true),
            None => (text, false),
        };
        let valid = !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(EnvAllowlistError::BadPattern(text.to_owned()));
        }
        Ok(if prefix {
            EnvPattern::Prefix(name.to_owned())
        } else {
            EnvPattern::Exact(name.to_owned())
        })
    }

    pub fn matches(&self, name: &str) -> bool {
        match self {
            EnvPattern::Exact(exact) => name == exact,
            EnvPattern::Prefix(prefix) => name.starts_with(prefix.as_str()),
        }
    }
}

impl std::fmt::Display for EnvPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EnvPattern::Exact(name) => f.write_str(name),
            EnvPattern::Prefix(prefix) => write!(f, "{prefix}*"),
        }
    }
}

/// Whether an allowlisted variable holds a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvKind {
    /// Passed as it is.
    Setting,
    /// Passed and masked in everything posted or stored.
    Credential,
}

/// A problem with the allowlist settings.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnvAllowlistError {
    #[error(
        "{0:?} is not an environment variable name or NAME_PREFIX* pattern (letters, digits and _; a trailing * for a prefix)"
    )]
    BadPattern(String),
    #[error(
        "{pattern} would pass the service's own secret {secret} to Terraform, which any planned configuration can print; remove it from the Terraform environment allowlist"
    )]
    ServiceSecret { pattern: String, secret: String },
}

/// The variables Terraform may see.
#[derive(Debug, Clone)]
pub struct EnvAllowlist {
    entries: Vec<(EnvPattern, EnvKind)>,
}

/// What the allowlist lets through from one environment.
#[derive(Debug, Clone, Default)]
pub struct TerraformEnv {
    pub settings: Vec<(String, String)>,
    pub credentials: Vec<(String, SecretString)>,
    /// Files and directories named by [`PATH_VARS`] that exist.
    pub paths: Vec<PathBuf>,
}

impl EnvAllowlist {
    /// The defaults plus `extra` patterns (e.g. from `PROMPTOPS_TERRAFORM_ENV`), which
    /// count as credentials: their values are masked. A pattern that matches one of
    /// `service_secrets` (the names the service keeps its own secrets in) is refused.
    pub fn new<S: AsRef<str>>(
        extra: &[S],
        service_secrets: &[&str],
    ) -> Result<EnvAllowlist, EnvAllowlistError> {
        let mut entries: Vec<(EnvPattern, EnvKind)> = Vec::new();
        let defaults = [
            (SYSTEM_VARS, EnvKind::Setting),
            (PROVIDER_SETTINGS, EnvKind::Setting),
            (PROVIDER_CREDENTIALS, EnvKind::Credential),
        ];
        for (names, kind) in defaults {
            for name in names {
                entries.push((EnvPattern::parse(name)?, kind));
            }
        }
        for text in extra.iter().map(AsRef::as_ref) {
            if text.trim().is_empty() {
                continue;
            }
            let pattern = EnvPattern::parse(text)?;
            if let Some(secret) = service_secrets.iter().find(|s| pattern.matches(s)) {
                return Err(EnvAllowlistError::ServiceSecret {
                    pattern: pattern.to_string(),
                    secret: (*secret).to_owned(),
                });
            }
            entries.push((pattern, EnvKind::Credential));
        }
        Ok(EnvAllowlist { entries })
    }

    /// How `name` is passed, or `None` when it is not.
    pub fn kind(&self, name: &str) -> Option<EnvKind> {
        // A name both listed as a setting and added as a credential is masked.
        self.entries
            .iter()
            .filter(|(pattern, _)| pattern.matches(name))
            .map(|(_, kind)| *kind)
            .max_by_key(|kind| *kind == EnvKind::Credential)
    }

    /// The allowlisted part of `vars` (e.g. `std::env::vars_os()`); names or values that
    /// are not UTF-8 are left out.
    pub fn collect<I>(&self, vars: I) -> TerraformEnv
    where
        I: IntoIterator<Item = (OsString, OsString)>,
    {
        let mut env = TerraformEnv::default();
        for (name, value) in vars {
            let (Some(name), Ok(value)) = (name.to_str(), value.into_string()) else {
                continue;
            };
            match self.kind(name) {
                None => continue,
                Some(EnvKind::Setting) => {
                    if PATH_VARS.contains(&name) && std::path::Path::new(&value).exists() {
                        env.paths.push(PathBuf::from(&value));
                    }
                    env.settings.push((name.to_owned(), value));
                }
                Some(EnvKind::Credential) => {
                    env.credentials
                        .push((name.to_owned(), SecretString::from(value)));
                }
            }
        }
        env.settings.sort();
        env.credentials.sort_by(|a, b| a.0.cmp(&b.0));
        env
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    const SERVICE: &[&str] = &["GITHUB_PRIVATE_KEY", "OPENAI_API_KEY", "DATABASE_URL"];

    fn vars(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs
            .iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v)))
            .collect()
    }

    #[test]
    fn only_allowlisted_variables_pass_and_credentials_are_kept_secret() {
        let allow = EnvAllowlist::new(&["ARM_*", "TF_VAR_region"], SERVICE).unwrap();
        let env = allow.collect(vars(&[
            ("PATH", "/usr/bin"),
            ("LC_ALL", "C.UTF-8"),
            ("GOOGLE_PROJECT", "demo"),
            ("GOOGLE_OAUTH_ACCESS_TOKEN", "ya29.token"),
            ("ARM_CLIENT_SECRET", "arm-secret"),
            ("TF_VAR_region", "us-west1"),
            ("TF_VAR_other", "x"),
            ("GITHUB_PRIVATE_KEY", "-----BEGIN"),
            ("OPENAI_API_KEY", "sk-test"),
            ("DATABASE_URL", "sqlite://x"),
            ("PROMPTOPS_DASHBOARD_TOKEN", "dash"),
            ("HOME", "/root"),
        ]));
        let settings: Vec<&str> = env.settings.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(settings, ["GOOGLE_PROJECT", "LC_ALL", "PATH"]);
        let credentials: Vec<(&str, &str)> = env
            .credentials
            .iter()
            .map(|(k, v)| (k.as_str(), v.expose_secret()))
            .collect();
        assert_eq!(
            credentials,
            [
                ("ARM_CLIENT_SECRET", "arm-secret"),
                ("GOOGLE_OAUTH_ACCESS_TOKEN", "ya29.token"),
                ("TF_VAR_region", "us-west1"),
            ]
        );
    }

    #[test]
    fn a_pattern_naming_a_service_secret_is_refused_with_its_name() {
        let err = EnvAllowlist::new(&["GITHUB_*"], SERVICE).unwrap_err();
        assert_eq!(
            err,
            EnvAllowlistError::ServiceSecret {
                pattern: "GITHUB_*".into(),
                secret: "GITHUB_PRIVATE_KEY".into()
            }
        );
        assert!(err.to_string().contains("GITHUB_PRIVATE_KEY"));
        let err = EnvAllowlist::new(&["DATABASE_URL"], SERVICE).unwrap_err();
        assert!(err.to_string().contains("DATABASE_URL"), "{err}");
    }

    #[test]
    fn bad_patterns_are_named() {
        for bad in ["*", "A-B", "1ABC", "A*B", "A B"] {
            let err = EnvAllowlist::new(&[bad], SERVICE).unwrap_err();
            assert_eq!(err, EnvAllowlistError::BadPattern(bad.into()), "{bad}");
        }
    }

    #[test]
    fn existing_credential_files_are_listed_for_the_sandbox() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sa.json");
        std::fs::write(&file, "{}").unwrap();
        let allow = EnvAllowlist::new::<&str>(&[], SERVICE).unwrap();
        let env = allow.collect(vars(&[
            ("GOOGLE_APPLICATION_CREDENTIALS", file.to_str().unwrap()),
            ("VAULT_CACERT", "/nonexistent/ca.pem"),
        ]));
        assert_eq!(env.paths, [file]);
    }
}

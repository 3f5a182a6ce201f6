//! The credentials file the setup page writes and `serve` reads at start: the App's id,
//! slug, OAuth client, webhook secret and private key, as JSON.
//!
//! It is written once: created with mode 0600 under a temporary name in the same
//! directory, then renamed to its final name without replacing anything — so an existing
//! App's credentials are never overwritten, and the file is never visible under its name
//! before it is complete, nor readable by others at any moment.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppCredentials {
    pub id: u64,
    pub slug: String,
    /// The App's page (`https://github.com/apps/<slug>`); `/installations/new` installs it.
    #[serde(default)]
    pub html_url: Option<String>,
    pub client_id: String,
    #[serde(serialize_with = "expose")]
    pub client_secret: SecretString,
    #[serde(serialize_with = "expose")]
    pub webhook_secret: SecretString,
    /// The private key, PEM.
    #[serde(serialize_with = "expose")]
    pub pem: SecretString,
}

fn expose<S: serde::Serializer>(secret: &SecretString, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(secret.expose_secret())
}

/// Each message carries its cause's text, which is not also the `source()` (see
/// `promptops_store::StoreError`).
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error(
        "the credentials file {0} already exists: PromptOps does not replace an App's credentials. \
         Delete or move it (and restart) to connect another App"
    )]
    AlreadyExists(PathBuf),
    #[error("cannot write the credentials file {path}: {cause}")]
    Write {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("cannot read the credentials file {path}: {cause}")]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("the credentials file {path} is not valid: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error(
        "the credentials file {path} is readable by other users (mode {mode:o}); run `chmod 600 {path}`"
    )]
    TooOpen { path: PathBuf, mode: u32 },
}

impl AppCredentials {
    /// Reads the file; `Ok(None)` when there is none.
    pub fn load(path: &Path) -> Result<Option<AppCredentials>, CredentialsError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(cause) => {
                return Err(CredentialsError::Read {
                    path: path.to_owned(),
                    cause,
                });
            }
        };
        check_mode(path)?;
        let credentials: AppCredentials =
            serde_json::from_str(&text).map_err(|err| CredentialsError::Invalid {
                path: path.to_owned(),
                message: err.to_string(),
            })?;
        let invalid = |message: &str| CredentialsError::Invalid {
            path: path.to_owned(),
            message: message.to_owned(),
        };
        if let Err(problem) = promptops_github::client::signing_key(credentials.pem.expose_secret())
        {
            return Err(invalid(&format!("`pem`: {problem}")));
        }
        if credentials.webhook_secret.expose_secret().trim().is_empty() {
            return Err(invalid("`webhook_secret` is empty"));
        }
        Ok(Some(credentials))
    }

    /// Creates the file (mode 0600) with these credentials; refuses when it exists.
    pub fn create_new(&self, path: &Path) -> Result<(), CredentialsError> {
        let write_err = |cause| CredentialsError::Write {
            path: path.to_owned(),
            cause,
        };
        if path.symlink_metadata().is_ok() {
            return Err(CredentialsError::AlreadyExists(path.to_owned()));
        }
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
            _ => PathBuf::from("."),
        };
        let json = serde_json::to_vec_pretty(self).map_err(|err| write_err(err.into()))?;
        // `tempfile` creates the file with mode 0600 and an unpredictable name.
        let mut temp = tempfile::Builder::new()
            .prefix(".promptops-app-")
            .suffix(".tmp")
            .tempfile_in(&dir)
            .map_err(write_err)?;
        temp.write_all(&json).map_err(write_err)?;
        temp.as_file().sync_all().map_err(write_err)?;
        // No-clobber rename (`renameat2(RENAME_NOREPLACE)`, or link + unlink where that is
        // missing): two setups finishing at once cannot replace each other's file.
        if let Err(err) = temp.persist_noclobber(path) {
            return Err(if err.error.kind() == std::io::ErrorKind::AlreadyExists {
                CredentialsError::AlreadyExists(path.to_owned())
            } else {
                write_err(err.error)
            });
        }
        if let Ok(dir) = std::fs::File::open(&dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

#[cfg(unix)]
fn check_mode(path: &Path) -> Result<(), CredentialsError> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(path)
        .map_err(|cause| CredentialsError::Read {
            path: path.to_owned(),
            cause,
        })?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(CredentialsError::TooOpen {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_mode(_path: &Path) -> Result<(), CredentialsError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> AppCredentials {
        AppCredentials {
            id: 7,
            slug: "promptops-acme".into(),
            html_url: Some("https://github.com/apps/promptops-acme".into()),
            client_id: "Iv1.abc".into(),
            client_secret: SecretString::from("client-secret".to_owned()),
            webhook_secret: SecretString::from("hook-secret".to_owned()),
            pem: SecretString::from(promptops_testkit::APP_PRIVATE_KEY_PEM.to_owned()),
        }
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_created_0600_with_every_field_and_never_replaced() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(crate::config::APP_CREDENTIALS_FILE);
        sample().create_new(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(json["id"], 7);
        assert_eq!(json["webhook_secret"], "hook-secret");
        assert_eq!(json["client_secret"], "client-secret");
        assert!(json["pem"].as_str().unwrap().contains("PRIVATE KEY"));

        let mut other = sample();
        other.id = 8;
        let err = other.create_new(&path).unwrap_err();
        assert!(matches!(err, CredentialsError::AlreadyExists(_)), "{err}");
        let loaded = AppCredentials::load(&path).unwrap().unwrap();
        assert_eq!(loaded.id, 7, "the first App's file is kept");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            leftovers.len(),
            1,
            "no temporary file is left: {leftovers:?}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_file_others_can_read_is_refused_and_a_missing_one_is_none() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("creds.json");
        assert!(AppCredentials::load(&path).unwrap().is_none());
        sample().create_new(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = AppCredentials::load(&path).unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }

    #[test]
    fn a_file_without_a_key_is_invalid_and_says_which_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("creds.json");
        let mut bad = sample();
        bad.pem = SecretString::from("not a key".to_owned());
        bad.create_new(&path).unwrap();
        let err = AppCredentials::load(&path).unwrap_err();
        assert!(err.to_string().contains("`pem`"), "{err}");
    }
}

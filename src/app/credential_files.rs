//! The secrets inside the credential files Terraform is handed by path
//! (`GOOGLE_APPLICATION_CREDENTIALS`, `VAULT_CLIENT_KEY`). Terraform reads these files, so a
//! configuration can print them (`file(...)` in an output); masking the path alone would
//! leave the key in the plan comment. The file's text is masked as a credential value: the
//! masker also masks its secret JSON fields and each line of a PEM key on their own, so
//! what the file holds is masked printed raw, JSON-escaped, one field or one line at a time.

use std::io::Read as _;
use std::path::Path;

use promptops_terraform::environment::CREDENTIAL_FILE_VARS;
use secrecy::SecretString;

/// Credential files are small (a service-account key is ~2.3 KiB); reading stops here so
/// that a path pointing somewhere unexpected cannot stall the start.
const MAX_CREDENTIAL_FILE_BYTES: u64 = 1024 * 1024;

/// The values to mask for every credential file named in Terraform's environment. A file
/// that cannot be read is logged: Terraform, which runs as this user, will fail on it too.
pub fn mask_values(env: &[(String, String)]) -> Vec<SecretString> {
    let mut values = Vec::new();
    for (name, path) in env {
        if !CREDENTIAL_FILE_VARS.contains(&name.as_str()) {
            continue;
        }
        match read_limited(Path::new(path)) {
            Ok(text) if !text.trim().is_empty() => {
                values.push(SecretString::from(text.trim().to_owned()))
            }
            Ok(_) => {}
            Err(err) => {
                tracing::warn!(variable = %name, path = %path, error = %err, "cannot read the credential file to mask its secrets")
            }
        }
    }
    values
}

fn read_limited(path: &Path) -> std::io::Result<String> {
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(MAX_CREDENTIAL_FILE_BYTES)
        .read_to_string(&mut text)?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use promptops_terraform::mask::Masker;

    const KEY_LINES: [&str; 3] = [
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj",
        "MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu",
        "NMoSfm76oqFvAp8Gy0iz5sxjZmSnXyCdPEovGhLa0VzMaQ8s+CLOyS56YyCFGeJZ",
    ];

    fn pem() -> String {
        format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            KEY_LINES.join("\n")
        )
    }

    fn env_with(name: &str, path: &Path) -> Vec<(String, String)> {
        vec![
            ("GOOGLE_PROJECT".into(), "demo".into()),
            (name.into(), path.display().to_string()),
        ]
    }

    #[test]
    fn a_service_account_key_is_masked_however_terraform_prints_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sa.json");
        let file = serde_json::json!({
            "type": "service_account",
            "project_id": "demo-project",
            "private_key_id": "5f1c0e2b7a9d4c3e8f6a1b2c3d4e5f60718293a4",
            "private_key": pem(),
            "client_email": "planner@demo-project.iam.gserviceaccount.com",
        });
        let raw = serde_json::to_string_pretty(&file).unwrap();
        std::fs::write(&path, &raw).unwrap();

        let masker = Masker::new(mask_values(&env_with(
            "GOOGLE_APPLICATION_CREDENTIALS",
            &path,
        )));
        // `output "x" { value = file(...) }` prints the file JSON-escaped in a string.
        assert_eq!(
            masker.mask_str(&serde_json::to_string(&raw).unwrap()),
            "\"***\""
        );
        // One field, or the key line by line (`jsondecode(file(...)).private_key`).
        let printed = masker.mask_str(&format!(
            "id = {} key = {}",
            "5f1c0e2b7a9d4c3e8f6a1b2c3d4e5f60718293a4",
            KEY_LINES.join(" ")
        ));
        assert_eq!(printed, "id = *** key = *** *** ***");
        // Public fields stay readable.
        assert_eq!(masker.mask_str("demo-project"), "demo-project");
    }

    #[test]
    fn a_client_key_file_is_masked_and_an_unreadable_one_is_no_failure() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("client.key");
        std::fs::write(&path, pem()).unwrap();
        let masker = Masker::new(mask_values(&env_with("VAULT_CLIENT_KEY", &path)));
        let printed = masker.mask_str(&format!("key: {}", KEY_LINES.join("")));
        assert!(
            KEY_LINES.iter().all(|line| !printed.contains(line)),
            "{printed}"
        );

        let missing = dir.path().join("absent.key");
        assert!(mask_values(&env_with("VAULT_CLIENT_KEY", &missing)).is_empty());
        // A path variable that names no credential is not read.
        assert!(mask_values(&env_with("VAULT_CACERT", &path)).is_empty());
    }
}

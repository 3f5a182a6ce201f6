//! The parts of a credential that are secret on their own. A configuration can print one
//! field of `GOOGLE_CREDENTIALS` (`jsondecode(...).private_key`) or one line of a PEM key,
//! and masking only the whole value would let that part through.

/// Fields of a Google credentials file (service-account key, authorized user) whose
/// values are secret or identify the account. Others (`type`, `token_uri`, `project_id`)
/// are public and would mask ordinary words in every plan.
const SECRET_FIELDS: &[&str] = &[
    "private_key",
    "private_key_id",
    "client_email",
    "client_id",
    "client_secret",
    "refresh_token",
];

/// PEM body lines shorter than this (the last line of a key) are not masked on their own:
/// a few base64 characters would mask unrelated text. Full lines are 64 characters.
const MIN_PEM_LINE: usize = 16;

/// The secret parts of `value` to mask besides the value itself: the secret fields of a
/// JSON object (and, for a PEM key among them, each line of its body), and the body lines
/// of a PEM value.
pub(super) fn secret_parts(value: &str) -> Vec<String> {
    let mut parts = Vec::new();
    if let Ok(serde_json::Value::Object(fields)) = serde_json::from_str(value) {
        for name in SECRET_FIELDS {
            if let Some(serde_json::Value::String(field)) = fields.get(*name) {
                parts.extend(pem_lines(field));
                parts.push(field.clone());
            }
        }
    }
    parts.extend(pem_lines(value));
    parts.retain(|part| part != value);
    parts
}

/// The base64 body lines of every PEM block in `text`.
fn pem_lines(text: &str) -> Vec<String> {
    if !text.contains("-----BEGIN ") {
        return Vec::new();
    }
    text.lines()
        .map(str::trim)
        .filter(|line| !line.starts_with("-----") && line.len() >= MIN_PEM_LINE)
        .map(str::to_owned)
        .collect()
}

/// The secrets in a proxy setting such as `HTTPS_PROXY=http://user:pa%40ss@proxy:3128`:
/// the `user:password` part and the password, as written and percent-decoded. Empty when
/// the setting carries no password.
pub fn proxy_secrets(value: &str) -> Vec<String> {
    let after_scheme = value.split_once("://").map_or(value, |(_, rest)| rest);
    let authority = after_scheme
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default();
    let Some((userinfo, _host)) = authority.rsplit_once('@') else {
        return Vec::new();
    };
    let Some((_user, password)) = userinfo.split_once(':') else {
        return Vec::new();
    };
    if password.is_empty() {
        return Vec::new();
    }
    let mut secrets = vec![userinfo.to_owned(), password.to_owned()];
    if let Ok(decoded) = percent_encoding::percent_decode_str(password).decode_utf8() {
        secrets.push(decoded.into_owned());
    }
    secrets.dedup();
    secrets
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\nVJTUt9Us8cKjMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\nabc=\n-----END PRIVATE KEY-----\n";

    #[test]
    fn a_service_account_key_yields_its_secret_fields_and_key_lines() {
        let json = serde_json::json!({
            "type": "service_account",
            "project_id": "demo-project",
            "private_key_id": "7d1f0c2b9a8e6f5d4c3b2a1908f7e6d5c4b3a291",
            "private_key": KEY,
            "client_email": "deployer@demo-project.iam.gserviceaccount.com",
            "client_id": "104857600000000000001",
            "token_uri": "https://oauth2.googleapis.com/token",
        })
        .to_string();
        let parts = secret_parts(&json);
        for expected in [
            "7d1f0c2b9a8e6f5d4c3b2a1908f7e6d5c4b3a291",
            KEY,
            "deployer@demo-project.iam.gserviceaccount.com",
            "104857600000000000001",
            "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7",
        ] {
            assert!(
                parts.iter().any(|p| p == expected),
                "{expected} in {parts:?}"
            );
        }
        for public in ["service_account", "demo-project", "abc="] {
            assert!(!parts.iter().any(|p| p == public), "{public} in {parts:?}");
        }
    }

    #[test]
    fn plain_values_have_no_parts() {
        assert!(secret_parts("ghs_plain-token-value").is_empty());
        assert!(secret_parts("[\"not\", \"an object\"]").is_empty());
    }

    #[test]
    fn proxy_passwords_are_found_as_written_and_decoded() {
        assert_eq!(
            proxy_secrets("http://ops:pa%40ss-w0rd@proxy.internal:3128/"),
            ["ops:pa%40ss-w0rd", "pa%40ss-w0rd", "pa@ss-w0rd"]
        );
        assert_eq!(
            proxy_secrets("ops:hunter22@10.0.0.1:8080"),
            ["ops:hunter22", "hunter22"]
        );
        assert!(proxy_secrets("http://proxy.internal:3128").is_empty());
        assert!(proxy_secrets("http://ops@proxy.internal:3128").is_empty());
        assert!(proxy_secrets("http://proxy/path@x").is_empty());
    }
}

//! Whether a PEM text can be the App's private key, checked when the service starts: a key
//! that cannot sign would otherwise be found out only by the first request to GitHub (a
//! public key passes `EncodingKey::from_rsa_pem`, which only decodes the PEM).

use jsonwebtoken::{Algorithm, EncodingKey, Header};

/// Why a PEM text cannot be the App's private key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyProblem {
    #[error(
        "it is a public key ({label}), not the App's private key: generate a private key in the App's settings (Private keys) and give the .pem file GitHub downloads"
    )]
    PublicKey { label: String },
    #[error(
        "it holds literal \\n escapes where its line breaks should be (as a .env file or a JSON string writes them): give the .pem file as it was downloaded, or set GITHUB_PRIVATE_KEY=\"$(cat app.pem)\""
    )]
    EscapedLineBreaks,
    #[error("it is not a PEM private key (no -----BEGIN ... PRIVATE KEY----- line)")]
    NotPem,
    #[error("it is not an RSA private key in PEM form ({reason})")]
    NotRsa { reason: String },
}

/// The key the App signs its JWTs with, once it has signed one.
pub fn signing_key(pem: &str) -> Result<EncodingKey, KeyProblem> {
    if let Some(label) = pem_labels(pem).find(|label| label.contains("PUBLIC KEY")) {
        return Err(KeyProblem::PublicKey {
            label: label.to_owned(),
        });
    }
    // A backslash is never part of a PEM text: base64 has none.
    if pem.contains("\\n") {
        return Err(KeyProblem::EscapedLineBreaks);
    }
    if pem_labels(pem).next().is_none() {
        return Err(KeyProblem::NotPem);
    }
    let not_rsa = |err: jsonwebtoken::errors::Error| KeyProblem::NotRsa {
        reason: err.to_string(),
    };
    let key = EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(not_rsa)?;
    // Decoding takes any RSA key; signing is what needs the private one.
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), &Probe { iss: 0 }, &key)
        .map_err(not_rsa)?;
    Ok(key)
}

#[derive(serde::Serialize)]
struct Probe {
    iss: u64,
}

/// The labels of the PEM blocks in `text` (`RSA PRIVATE KEY` of
/// `-----BEGIN RSA PRIVATE KEY-----`).
fn pem_labels(text: &str) -> impl Iterator<Item = &str> {
    text.split("-----BEGIN ")
        .skip(1)
        .filter_map(|rest| rest.split_once("-----").map(|(label, _)| label.trim()))
}

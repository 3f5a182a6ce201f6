//! The committed test-only App key pair (see `keys/README.md`).

/// The App's private key (PKCS#1 PEM) that clients sign JWTs with. Test-only.
pub const APP_PRIVATE_KEY_PEM: &str = include_str!("../keys/app-private-key.pem");

/// The public half, which the fake verifies App JWTs against.
pub const APP_PUBLIC_KEY_PEM: &str = include_str!("../keys/app-public-key.pem");

//! Signed, self-contained dashboard cookies: the signed-in session (login and expiry) and
//! the short-lived sign-in state. Nothing is kept in memory: every replica that shares
//! `GITHUB_CLIENT_SECRET` derives the same key and accepts the others' cookies.
//!
//! A sealed value is `field.field...mac`, where the mac is HMAC-SHA256 over a purpose
//! label and the fields, so that a value sealed for one purpose (the sign-in state) is
//! never accepted for another (the session).

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderValue, header};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// The signed-in session.
pub const SESSION_COOKIE: &str = "promptops_session";
/// The sign-in state, from `/dashboard/login` to the OAuth callback.
pub const STATE_COOKIE: &str = "promptops_oauth_state";

const SESSION_PURPOSE: &str = "session";
const STATE_PURPOSE: &str = "oauth-state";
const CSRF_PURPOSE: &str = "csrf";

/// The key every dashboard cookie is signed with.
pub struct SessionKey {
    key: [u8; 32],
}

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(..)")
    }
}

impl SessionKey {
    /// Derived from the OAuth client secret with a fixed label: rotating the secret ends
    /// every session, and the secret itself never signs anything.
    pub fn derive(client_secret: &SecretString) -> SessionKey {
        let mut mac = HmacSha256::new_from_slice(client_secret.expose_secret().as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(b"promptops dashboard session key v1");
        SessionKey {
            key: mac.finalize().into_bytes().into(),
        }
    }

    fn mac(&self, purpose: &str, fields: &[&str]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(purpose.as_bytes());
        for field in fields {
            // Length-prefixed, so that field boundaries cannot be shifted.
            mac.update(&(field.len() as u64).to_be_bytes());
            mac.update(field.as_bytes());
        }
        mac
    }

    /// `fields` joined by dots, then the mac. Fields must not contain dots.
    fn seal(&self, purpose: &str, fields: &[&str]) -> String {
        debug_assert!(fields.iter().all(|field| !field.contains('.')));
        let tag = hex::encode(self.mac(purpose, fields).finalize().into_bytes());
        format!("{}.{tag}", fields.join("."))
    }

    /// The fields of a value sealed for `purpose`, if its mac is right.
    fn open<'v>(&self, purpose: &str, value: &'v str) -> Option<Vec<&'v str>> {
        let (body, tag) = value.rsplit_once('.')?;
        let tag = hex::decode(tag).ok()?;
        let fields: Vec<&str> = body.split('.').collect();
        self.mac(purpose, &fields).verify_slice(&tag).ok()?;
        Some(fields)
    }
}

/// Someone signed in with GitHub, until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub login: String,
    pub expires_at: DateTime<Utc>,
}

/// GitHub logins are letters, digits and single hyphens; nothing else may enter a cookie.
pub fn is_valid_login(login: &str) -> bool {
    !login.is_empty()
        && login.len() <= promptops_core::github::LOGIN_MAX_CHARS
        && login.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

impl Session {
    pub fn seal(&self, key: &SessionKey) -> String {
        key.seal(
            SESSION_PURPOSE,
            &[&self.login, &self.expires_at.timestamp().to_string()],
        )
    }

    /// The session in a cookie value, if it is signed with `key` and not expired at `now`.
    pub fn open(key: &SessionKey, value: &str, now: DateTime<Utc>) -> Option<Session> {
        let [login, expiry] = key.open(SESSION_PURPOSE, value)?[..] else {
            return None;
        };
        let expires_at = DateTime::<Utc>::from_timestamp(expiry.parse().ok()?, 0)?;
        (now < expires_at && is_valid_login(login)).then(|| Session {
            login: login.to_owned(),
            expires_at,
        })
    }

    /// The token the dashboard's state-changing forms carry for this session.
    pub fn csrf_token(&self, key: &SessionKey) -> String {
        let expiry = self.expires_at.timestamp().to_string();
        hex::encode(
            key.mac(CSRF_PURPOSE, &[&self.login, &expiry])
                .finalize()
                .into_bytes(),
        )
    }

    pub fn accepts_csrf(&self, key: &SessionKey, presented: &str) -> bool {
        self.csrf_token(key)
            .as_bytes()
            .ct_eq(presented.as_bytes())
            .into()
    }
}

/// A sign-in in progress: the random `state` sent to GitHub, the dashboard page to return
/// to, and when it lapses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSignIn {
    pub state: String,
    pub next: String,
    pub expires_at: DateTime<Utc>,
}

impl PendingSignIn {
    pub fn seal(&self, key: &SessionKey) -> String {
        key.seal(
            STATE_PURPOSE,
            &[
                &self.state,
                &hex::encode(self.next.as_bytes()),
                &self.expires_at.timestamp().to_string(),
            ],
        )
    }

    pub fn open(key: &SessionKey, value: &str, now: DateTime<Utc>) -> Option<PendingSignIn> {
        let [state, next, expiry] = key.open(STATE_PURPOSE, value)?[..] else {
            return None;
        };
        let expires_at = DateTime::<Utc>::from_timestamp(expiry.parse().ok()?, 0)?;
        let next = String::from_utf8(hex::decode(next).ok()?).ok()?;
        (now < expires_at).then(|| PendingSignIn {
            state: state.to_owned(),
            next,
            expires_at,
        })
    }
}

/// The value of cookie `name` in a request.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(found, _)| *found == name)
        .map(|(_, value)| value.to_owned())
}

/// A `Set-Cookie` value: HttpOnly and SameSite=Lax (the OAuth callback arrives as a
/// top-level navigation from GitHub, which Lax lets through and Strict would not), Secure
/// when the dashboard is served over https. `max_age_secs` 0 deletes the cookie.
pub fn set_cookie(
    name: &str,
    value: &str,
    path: &str,
    max_age_secs: i64,
    secure: bool,
) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax{secure}"
    ))
    .expect("cookie values are sealed ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(secret: &str) -> SessionKey {
        SessionKey::derive(&SecretString::from(secret.to_owned()))
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(secs, 0).unwrap()
    }

    #[test]
    fn a_session_opens_with_the_same_secret_until_it_expires() {
        let session = Session {
            login: "octocat".to_owned(),
            expires_at: at(2_000),
        };
        let sealed = session.seal(&key("s1"));
        // Another replica derives the same key from the same secret.
        assert_eq!(
            Session::open(&key("s1"), &sealed, at(1_999)),
            Some(session.clone())
        );
        assert_eq!(Session::open(&key("s1"), &sealed, at(2_000)), None);
        assert_eq!(Session::open(&key("s2"), &sealed, at(1_000)), None);
    }

    #[test]
    fn a_modified_session_is_refused() {
        let k = key("s1");
        let sealed = Session {
            login: "octocat".to_owned(),
            expires_at: at(2_000),
        }
        .seal(&k);
        let other_login = sealed.replacen("octocat", "hubot", 1);
        let later = sealed.replacen("2000", "9000", 1);
        assert_eq!(Session::open(&k, &other_login, at(1_000)), None);
        assert_eq!(Session::open(&k, &later, at(1_000)), None);
        assert_eq!(Session::open(&k, "octocat.9999999999", at(1_000)), None);
    }

    #[test]
    fn a_sign_in_state_is_not_a_session() {
        let k = key("s1");
        let pending = PendingSignIn {
            state: "octocat".to_owned(),
            next: "2000".to_owned(),
            expires_at: at(2_000),
        };
        let sealed = pending.seal(&k);
        assert_eq!(PendingSignIn::open(&k, &sealed, at(1_000)), Some(pending));
        assert_eq!(Session::open(&k, &sealed, at(1_000)), None);
        // Same shape as a session, sealed for the other purpose.
        let shaped_like_a_session = k.seal(STATE_PURPOSE, &["octocat", "2000"]);
        assert_eq!(Session::open(&k, &shaped_like_a_session, at(1_000)), None);
        assert!(
            Session::open(
                &k,
                &k.seal(SESSION_PURPOSE, &["octocat", "2000"]),
                at(1_000)
            )
            .is_some()
        );
    }

    #[test]
    fn the_csrf_token_belongs_to_one_session() {
        let k = key("s1");
        let session = Session {
            login: "octocat".to_owned(),
            expires_at: at(2_000),
        };
        let token = session.csrf_token(&k);
        assert!(session.accepts_csrf(&k, &token));
        let other = Session {
            login: "hubot".to_owned(),
            ..session.clone()
        };
        assert!(!other.accepts_csrf(&k, &token));
        assert!(!session.accepts_csrf(&k, ""));
    }

    #[test]
    fn logins_are_checked_before_they_enter_a_cookie() {
        assert!(is_valid_login("octo-cat9"));
        assert!(!is_valid_login("octo.cat"));
        assert!(!is_valid_login("a;b"));
        assert!(!is_valid_login(""));
    }
}

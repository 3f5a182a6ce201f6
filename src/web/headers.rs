//! Security headers on every dashboard and setup page: a Content-Security-Policy that
//! allows only the stylesheet this site serves (and the setup page's one script, by hash),
//! forms posted only to this site (and GitHub, for the setup page's App manifest), and
//! no framing; no referrer to other sites; no content sniffing; no caching of pages that
//! show runs.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// The headers one group of pages is sent with.
#[derive(Debug, Clone)]
pub struct PagePolicy {
    content_security_policy: HeaderValue,
}

impl PagePolicy {
    /// Pages whose forms post only to this site, with no script.
    pub fn dashboard() -> PagePolicy {
        PagePolicy::new(&[], &[])
    }

    /// Pages that run `scripts` (inline, allowed by their hash) and may post forms to the
    /// `form_targets` origins besides this site.
    pub fn new(scripts: &[&str], form_targets: &[&str]) -> PagePolicy {
        let scripts = if scripts.is_empty() {
            "'none'".to_owned()
        } else {
            scripts
                .iter()
                .map(|s| source_hash(s))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let form_action: String = std::iter::once("'self'")
            .chain(form_targets.iter().copied())
            .collect::<Vec<_>>()
            .join(" ");
        let policy = format!(
            "default-src 'none'; style-src 'self'; script-src {scripts}; img-src 'self'; \
             form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
        );
        PagePolicy {
            content_security_policy: HeaderValue::from_str(&policy)
                .expect("origins and hashes are header-safe"),
        }
    }
}

/// A CSP source expression allowing exactly this inline `<script>` text.
fn source_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// Middleware over every page of a router.
pub async fn apply(
    State(policy): State<Arc<PagePolicy>>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        policy.content_security_policy.clone(),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // For browsers that predate `frame-ancestors`.
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // `same-origin`, not `no-referrer`: under `no-referrer` browsers send `Origin: null`
    // with every POST, and the dashboard's own forms would fail the origin check. Pages
    // that carry secrets in their address (setup) set `no-referrer` themselves.
    headers
        .entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("same-origin"));
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_the_style_and_the_named_scripts_and_form_targets_only() {
        let policy = PagePolicy::new(&["alert(1)"], &["https://github.com"]);
        let text = policy.content_security_policy.to_str().unwrap();
        assert!(text.contains("frame-ancestors 'none'"), "{text}");
        assert!(text.contains("default-src 'none'"), "{text}");
        assert!(
            text.contains("form-action 'self' https://github.com;"),
            "{text}"
        );
        // The SHA-256 of "alert(1)", as browsers compute it for an inline script.
        assert!(
            text.contains("script-src 'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='"),
            "{text}"
        );
        assert!(!text.contains("unsafe-inline"), "{text}");
        assert!(text.contains("style-src 'self';"), "{text}");
        let dashboard = PagePolicy::dashboard();
        let text = dashboard.content_security_policy.to_str().unwrap();
        assert!(text.contains("script-src 'none'"), "{text}");
        assert!(text.contains("form-action 'self';"), "{text}");
    }
}

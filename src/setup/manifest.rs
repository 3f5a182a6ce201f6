//! The GitHub App manifest: `deploy/github-app-manifest.json` is the one source of the
//! App's name, permissions and events; the setup page fills in this service's URLs.

use serde_json::Value;

/// `deploy/github-app-manifest.json`, compiled in.
pub const MANIFEST_TEMPLATE: &str = include_str!("../../deploy/github-app-manifest.json");

/// The manifest for a service reachable at `public_url` (no trailing slash needed):
/// homepage, `/webhook` for deliveries, `/setup/callback` for the manifest flow's code and
/// `/dashboard/oauth/callback` for dashboard sign-in with GitHub (the App's callback URL).
pub fn manifest_for(public_url: &url::Url) -> Value {
    let base = public_url.as_str().trim_end_matches('/');
    let mut manifest: Value =
        serde_json::from_str(MANIFEST_TEMPLATE).expect("the embedded manifest is JSON (tested)");
    manifest["url"] = Value::from(base);
    manifest["hook_attributes"]["url"] = Value::from(format!("{base}/webhook"));
    manifest["redirect_url"] = Value::from(format!("{base}/setup/callback"));
    manifest["callback_urls"] =
        Value::from(vec![format!("{base}{}", crate::web::oauth::CALLBACK_PATH)]);
    manifest
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    /// The REST areas the GitHub client calls (the first path segment after
    /// `/repos/{owner}/{repo}`) and the repository permission each needs.
    const AREA_PERMISSIONS: &[(&str, &str, &str)] = &[
        ("check-runs", "checks", "write"),
        // `GET .../commits/{sha}/check-runs`: finding an existing check run.
        ("commits", "checks", "read"),
        // Issue comments (on issues and PRs) and reading an issue.
        ("issues", "issues", "write"),
        ("pulls", "pull_requests", "write"),
        ("contents", "contents", "write"),
        // Branches: `git/ref`, `git/refs`.
        ("git", "contents", "write"),
        ("tarball", "contents", "read"),
        // Checking a commenter's permission needs repository metadata only.
        ("collaborators", "metadata", "read"),
        // Comparing a merge group's head with its base.
        ("compare", "contents", "read"),
        // The App's installation on a repository (the dashboard's access checks): asked
        // with the App's JWT, it needs nothing beyond the metadata every App reads.
        ("installation", "metadata", "read"),
    ];

    /// Permissions GitHub requires to deliver an event the manifest subscribes to, beyond
    /// what the client's routes need.
    const EVENT_PERMISSIONS: &[(&str, &str, &str)] = &[("merge_group", "merge_queues", "read")];

    const CLIENT_SOURCES: &[(&str, &str)] = &[
        (
            "checks.rs",
            include_str!("../../crates/github/src/client/checks.rs"),
        ),
        (
            "comments.rs",
            include_str!("../../crates/github/src/client/comments.rs"),
        ),
        (
            "pulls.rs",
            include_str!("../../crates/github/src/client/pulls.rs"),
        ),
        (
            "repo.rs",
            include_str!("../../crates/github/src/client/repo.rs"),
        ),
        (
            "check_buttons.rs",
            include_str!("../../crates/github/src/client/check_buttons.rs"),
        ),
        (
            "compare.rs",
            include_str!("../../crates/github/src/client/compare.rs"),
        ),
        (
            "issue_writes.rs",
            include_str!("../../crates/github/src/client/issue_writes.rs"),
        ),
        (
            "mod.rs",
            include_str!("../../crates/github/src/client/mod.rs"),
        ),
    ];

    /// The webhook events ingress turns into jobs, by their `Event` variant.
    const EVENT_NAMES: &[(&str, &str)] = &[
        ("Event::IssueComment", "issue_comment"),
        ("Event::Issue(", "issues"),
        ("Event::PullRequest", "pull_request"),
        ("Event::MergeGroup", "merge_group"),
        ("Event::CheckRunAction", "check_run"),
    ];

    fn rank(level: &str) -> u8 {
        match level {
            "read" => 1,
            "write" => 2,
            "admin" => 3,
            other => panic!("unknown permission level {other}"),
        }
    }

    /// Every `"{}/<area>..."` route the client formats after the repository's route.
    fn client_areas() -> BTreeSet<String> {
        let mut areas = BTreeSet::new();
        for (file, source) in CLIENT_SOURCES {
            for (at, _) in source.match_indices("\"{}/") {
                let rest = &source[at + 4..];
                let area: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                    .collect();
                assert!(!area.is_empty(), "{file}: unreadable route at {at}");
                areas.insert(area);
            }
        }
        areas
    }

    #[test]
    fn the_manifest_asks_exactly_the_permissions_the_client_uses() {
        let areas = client_areas();
        assert!(
            areas.contains("contents") && areas.contains("pulls"),
            "the route scan found the client's routes: {areas:?}"
        );
        // Every App has metadata read; the repository route itself needs it.
        let mut needed: BTreeMap<String, String> =
            BTreeMap::from([("metadata".to_owned(), "read".to_owned())]);
        for area in &areas {
            let (_, permission, level) = AREA_PERMISSIONS
                .iter()
                .find(|(known, _, _)| known == area)
                .unwrap_or_else(|| {
                    panic!(
                        "the GitHub client calls `/repos/{{owner}}/{{repo}}/{area}`: add the \
                         permission it needs to AREA_PERMISSIONS and to deploy/github-app-manifest.json"
                    )
                });
            let entry = needed
                .entry((*permission).to_owned())
                .or_insert_with(|| (*level).to_owned());
            if rank(level) > rank(entry) {
                *entry = (*level).to_owned();
            }
        }
        let manifest: Value = serde_json::from_str(MANIFEST_TEMPLATE).unwrap();
        for (event, permission, level) in EVENT_PERMISSIONS {
            let subscribed = manifest["default_events"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e == event);
            if subscribed {
                needed.insert((*permission).to_owned(), (*level).to_owned());
            }
        }
        let asked: BTreeMap<String, String> =
            serde_json::from_value(manifest["default_permissions"].clone()).unwrap();
        assert_eq!(asked, needed, "deploy/github-app-manifest.json permissions");
        assert!(
            !asked.contains_key("members"),
            "no organization permission is needed"
        );
    }

    #[test]
    fn the_manifest_subscribes_exactly_to_the_events_ingress_handles() {
        let ingress = include_str!("../pipeline/ingress.rs");
        let handled: BTreeSet<&str> = EVENT_NAMES
            .iter()
            .filter(|(variant, _)| ingress.contains(variant))
            .map(|(_, name)| *name)
            .collect();
        let manifest: Value = serde_json::from_str(MANIFEST_TEMPLATE).unwrap();
        let events: BTreeSet<&str> = manifest["default_events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap())
            .collect();
        assert_eq!(events, handled, "deploy/github-app-manifest.json events");
        assert_eq!(events.len(), 5);
    }

    #[test]
    fn the_urls_point_at_this_service() {
        let url = url::Url::parse("https://bot.example.com/promptops/").unwrap();
        let manifest = manifest_for(&url);
        assert_eq!(manifest["url"], "https://bot.example.com/promptops");
        assert_eq!(
            manifest["hook_attributes"]["url"],
            "https://bot.example.com/promptops/webhook"
        );
        assert_eq!(
            manifest["redirect_url"],
            "https://bot.example.com/promptops/setup/callback"
        );
        assert_eq!(
            manifest["callback_urls"],
            serde_json::json!(["https://bot.example.com/promptops/dashboard/oauth/callback"]),
            "sign-in with GitHub returns to the dashboard"
        );
        assert_eq!(manifest["public"], false);
        assert_eq!(manifest["hook_attributes"]["active"], true);
    }
}

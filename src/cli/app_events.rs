//! `promptops check`'s line on the App's webhook events: an App registered before
//! PromptOps handled merge queues and check-run buttons does not receive `merge_group` or
//! `check_run`, and GitHub never adds an event to an existing App by itself — its owner
//! must, on the App's settings page. The events wanted are the manifest's.

use serde_json::Value;

use crate::setup::manifest::MANIFEST_TEMPLATE;

/// What each event brings, for the line that says it is missing.
fn what_it_brings(event: &str) -> &'static str {
    match event {
        "merge_group" => {
            "merge queues' `promptops/plan` check (needs the Merge queues: read permission); without it a required check stalls the queue"
        }
        "check_run" => "the Re-plan and Unlock buttons of plan check runs",
        _ => "the comment commands, plans and applies",
    }
}

/// The manifest's events the App does not subscribe to.
pub(super) fn missing_events(subscribed: &[String]) -> Vec<String> {
    let manifest: Value =
        serde_json::from_str(MANIFEST_TEMPLATE).expect("the embedded manifest is JSON (tested)");
    manifest["default_events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|wanted| !subscribed.iter().any(|have| have == wanted))
        .map(str::to_owned)
        .collect()
}

/// The line's text for the missing events.
pub(super) fn missing_events_detail(missing: &[String]) -> String {
    let list: Vec<String> = missing
        .iter()
        .map(|event| format!("`{event}` ({})", what_it_brings(event)))
        .collect();
    format!(
        "the App does not subscribe to {}: add them on the App's settings page on GitHub (Permissions & events, Subscribe to events); GitHub does not add events to an existing App",
        list.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_app_registered_before_merge_queues_misses_their_events() {
        let old: Vec<String> = ["issue_comment", "issues", "pull_request"]
            .map(str::to_owned)
            .to_vec();
        assert_eq!(missing_events(&old), ["merge_group", "check_run"]);
        let detail = missing_events_detail(&missing_events(&old));
        assert!(detail.contains("Merge queues: read"), "{detail}");
        let all: Vec<String> = [
            "issue_comment",
            "issues",
            "pull_request",
            "merge_group",
            "check_run",
        ]
        .map(str::to_owned)
        .to_vec();
        assert!(missing_events(&all).is_empty());
    }
}

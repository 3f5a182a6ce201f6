//! Webhook event parsing: arbitrary bytes under each event name the bot handles (and one it
//! does not) never panic; an accepted event answers every accessor and survives a round trip
//! through its own JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use promptops_github::webhook::{Event, parse_event};

/// The first input byte picks the event name; the rest is the body.
const EVENT_NAMES: [&str; 7] = [
    "issue_comment",
    "issues",
    "pull_request",
    "installation",
    "ping",
    "push",
    "",
];

fuzz_target!(|data: &[u8]| {
    let Some((selector, body)) = data.split_first() else {
        return;
    };
    let event_name = EVENT_NAMES[usize::from(*selector) % EVENT_NAMES.len()];
    match parse_event(event_name, body) {
        Ok(event) => {
            assert_eq!(event.name(), event_name);
            let _ = (event.action(), event.repo(), event.installation_id());
            if let Event::PullRequest(pr) = &event {
                let _ = pr.pull_request.is_from_fork();
            }
            let json = serde_json::to_vec(&event).expect("a parsed event serializes");
            let back: Event = serde_json::from_slice(&json).expect("its own JSON parses back");
            assert_eq!(back, event);
        }
        Err(error) => {
            // Errors are shown to operators: they must render and name the event.
            assert!(error.to_string().contains(event_name));
        }
    }
});

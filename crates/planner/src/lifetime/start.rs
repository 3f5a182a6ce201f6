//! A start the request states ("from Dec 10 to Dec 12", "for 2 weeks starting Monday",
//! "from tomorrow"). PromptOps creates the VMs when the plan's pull request is merged and
//! applied; it does not schedule a start. So a start is never read as the lifetime's
//! beginning, but named in the plan with what it means for the merge, and the end of a
//! range after it ("to Dec 12") is read as "until Dec 12" would be. Before, both were
//! passed over and the deployment was planned with no end.

use std::sync::LazyLock;

use promptops_core::ExpiryRequest;
use regex::Regex;

use super::{Statement, clause_words, end_date, month_day};

static START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:from|starting(?:\s+(?:on|from))?|beginning(?:\s+on)?|start(?:s|ing)?\s+on)\s+",
    )
    .expect("start pattern")
});

/// A start found in the text: its words as written, and the end of a range after it.
pub(super) struct Start {
    pub at: usize,
    pub written: String,
    pub range_end: Option<Statement>,
}

impl Start {
    /// The sentence for the plan's assumptions.
    pub fn reading(&self) -> String {
        format!(
            "\"{}\" is a start: PromptOps creates the VMs when this plan's pull request is merged, so merge it then for them to start on that day",
            self.written
        )
    }
}

/// How many words at the start of `words` name a day: a weekday or YYYY-MM-DD date, a day
/// of the year, tomorrow, or next week or month. Not "today" or "now": that is when the
/// plan is applied anyway.
fn day_words(words: &[String]) -> Option<usize> {
    let skip = usize::from(matches!(
        words.first().map(String::as_str),
        Some("next" | "this" | "the")
    ));
    let first = words.get(skip)?;
    if ExpiryRequest::parse_end(first).is_some() || matches!(first.as_str(), "tomorrow" | "tmrw") {
        return Some(skip + 1);
    }
    if skip == 1 && words[0] == "next" && matches!(first.as_str(), "week" | "month") {
        return Some(2);
    }
    month_day::read(&words[skip..]).map(|(_, taken)| skip + taken)
}

/// Every start in `text`, each with the end of its range ("from Dec 10 to Dec 12") when one
/// follows it after "to" or a dash. An end after "until" or "through" is read on its own.
pub(super) fn starts(text: &str) -> Vec<Start> {
    let mut found = Vec::new();
    for start in START.find_iter(text) {
        let (original, words) = clause_words(text, start.end());
        let Some(taken) = day_words(&words) else {
            continue;
        };
        let written = format!("{}{}", start.as_str(), original[..taken].join(" "));
        let range_end = match words.get(taken).map(String::as_str) {
            Some("to" | "-") => {
                end_date(original[taken], &original[taken + 1..], &words[taken + 1..])
            }
            _ => None,
        };
        found.push(Start {
            at: start.start(),
            written,
            range_end,
        });
    }
    found
}

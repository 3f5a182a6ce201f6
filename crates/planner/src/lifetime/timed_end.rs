//! Lifetimes stated without "for": "expires in 3 days", "expiry: 1 week", "lifetime 48h",
//! "delete it after 3 days", "tear them down in 2 weeks", and an issue form's answer under
//! "### How long?" or "Duration". Read as "for 3 days" is. Before,
//! they were passed over and the deployment planned with no end; "delete it after 3 days"
//! was refused as a request to delete.
//!
//! A duration that no lead words claim ("a T4 VM, 48 hours", "(2 days)") is not taken for
//! the lifetime, which the request may not mean, but named in the plan's assumptions with
//! what to write, so that it is never passed over in silence.

use std::sync::LazyLock;

use promptops_core::ExpiryRequest;
use regex::Regex;

/// Words that end the deployment after the duration that follows them.
static TIMED_END: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)
        (?P<lead>
            \b (?: expires? | expiring | expiry | lifetime | ttl ) (?: \s* [:=] | \s+ (?: in | after ) )?
            # Said of the VMs: they can be deleted after 72 hours.
          | \b (?: be | get | are | is ) \s+ (?: auto-?deleted | deleted | destroyed | removed
              | terminated | decommissioned | torn \s+ down | shut \s+ down | cleaned \s+ up )
            \s+ (?: in | after )
            # Duration only as a label (in training duration 8 hours it is the job's).
          | (?m:^) [\#\ \t]* duration \s* [:=]?
          | \b duration \s* [:=]
            # An issue form's question (### How long?) with the answer below it.
          | \b how \s+ long (?: \s+ (?: do | will | would ) \s+ you \s+ need \s+ (?: it | them | the \s+ \S+ ) )? \s* [?:]?
          | \b (?: auto-?delete | auto-?destroy | delete | destroy | remove | terminate | decommission
              | deprovision | kill | nuke | tear \s+ (?: it \s+ | them \s+ | everything \s+ )? down
              | teardown | shut \s+ (?: it \s+ | them \s+ | everything \s+ )? down | shutdown
              | clean \s+ (?: it \s+ | them \s+ | everything \s+ )? up )
            # A whole word: the d of were deleted was read as a unit of time.
            \b
            (?: \s+ (?: it | them | everything | all | the \s+ \S+ ) )? (?: \s+ (?: in | after | on | by | at ) )?
        )
        # Markdown's emphasis closing a label: **Lifetime:** 2 days. A key's value may
        # follow its = or : at once (ttl=72h); elsewhere the duration must start here.
        [*_]* \s*",
    )
    .expect("timed end pattern")
});

/// A number of hours, days or weeks ("48 hours", "2 days", "48h").
static DURATION: LazyLock<Regex> = LazyLock::new(|| {
    // Not "3d" or "2w" glued: "3D rendering" is no duration.
    Regex::new(r"(?i)\b\d+\s*(?:h|hrs?|hours?|days?|wks?|weeks?)\b").expect("duration pattern")
});

/// Words before a duration that say what it is, read or not: "for", "until", "in" ("ready
/// in 2 days"), "after", "every", "per", "ago" (after it).
static CLAIMED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:for|until|till|through|in|after|within|every|per|each|by|over|than|about|around|up\s+to|next|last|past)\s+(?:the\s+)?(?:next\s+|first\s+|last\s+|about\s+|around\s+|~\s*)?$")
        .expect("claimed duration pattern")
});

/// How far back before a duration the words that claim it are looked for ("for the next
/// about " is 19 characters).
const CLAIMING_CHARS: usize = 40;

/// After an expiry word, a date rather than a duration: "expiring Friday", "expires on Dec
/// 20". Read as after "until" (it was passed over).
pub(super) fn end_date_after(
    lead: &str,
    original: &[&str],
    words: &[String],
) -> Option<super::Statement> {
    // "expires", "expiry:", not "expires in" (a duration follows that).
    if !lead.to_ascii_lowercase().starts_with("expir") || lead.contains(char::is_whitespace) {
        return None;
    }
    let skip = usize::from(
        words
            .first()
            .is_some_and(|w| matches!(w.as_str(), "on" | "by")),
    );
    let lead = original[..skip]
        .iter()
        .fold(lead.to_owned(), |lead, w| format!("{lead} {w}"));
    super::end_date(&lead, &original[skip..], &words[skip..])
}

/// Whether a lead (lower case) names the end itself rather than being a deleting verb:
/// "expires after", "lifetime after", "TTL after", "duration:", "how long".
fn names_the_end(lower: &str) -> bool {
    ["expir", "lifetime", "ttl", "duration", "how"]
        .iter()
        .any(|word| lower.starts_with(word))
}

/// After a deleting verb, an end date: "shut them down Wednesday", "delete them on Dec
/// 12", "tear it down by Friday". Read as after "until" (they were passed over, or refused
/// as asking to delete).
pub(super) fn end_date_on(
    lead: &str,
    original: &[&str],
    words: &[String],
) -> Option<super::Statement> {
    let lower = lead.to_ascii_lowercase();
    let first_is_date = words
        .first()
        .is_some_and(|w| super::is_date_word(w) || ExpiryRequest::parse_end(w).is_some());
    // "delete them after 2026-12-31": the VMs are kept through that day (it was refused
    // as a request to delete). After "after", only a date is read here: a duration ("after
    // 3 days") is a lifetime, an event ("after the demo") refused.
    let after_a_date = lower.ends_with(" after") && first_is_date;
    if names_the_end(&lower) || lower.ends_with(" in") || lower.ends_with(" after") && !after_a_date
    {
        return None;
    }
    let dated =
        lower.ends_with(" on") || lower.ends_with(" by") || lower.ends_with(" at") || first_is_date;
    if !dated {
        return None;
    }
    super::end_date(lead, original, words)
}

/// "Just for today" ends with the day, as "until tonight" does (it was passed over). Not
/// "for tomorrow" (when the VMs are needed, not until when) nor "for today and tomorrow".
pub(super) fn for_today(original: &[&str], words: &[String]) -> Option<super::Statement> {
    let today = words
        .first()
        .is_some_and(|w| matches!(w.as_str(), "today" | "tonight"));
    let more = words.get(1).is_some_and(|w| {
        matches!(
            w.as_str(),
            "and" | "or" | "to" | "through" | "till" | "until"
        )
    });
    (today && !more)
        .then(|| super::end_date("for", original, words))
        .flatten()
}

/// Words that start an event after a deleting verb and "after": "delete it after the
/// demo", "tear them down after our workshop".
const EVENT_STARTS: &[&str] = &[
    "the", "our", "my", "this", "that", "their", "your", "we", "i",
];

/// After a deleting verb and "after", an event rather than a time ("delete it after the
/// demo"): refused as "until the demo ends" is, since its time cannot be known. It was
/// refused as a request to delete the deployment.
pub(super) fn event_after(
    lead: &str,
    original: &[&str],
    words: &[String],
) -> Option<super::Statement> {
    let lower = lead.to_ascii_lowercase();
    if names_the_end(&lower) || !lower.ends_with("after") {
        return None;
    }
    if !words
        .first()
        .is_some_and(|w| EVENT_STARTS.contains(&w.as_str()))
    {
        return None;
    }
    let written = format!("{lead} {}", original[..original.len().min(6)].join(" "));
    Some(Err(promptops_core::ValidationError::new(
        promptops_core::EXPIRES_AT_FIELD,
        &written,
        format!(
            "\"{written}\" names an event, not a time: PromptOps cannot know when it is; write a lifetime (\"for 2 days\") or an end date (\"until 2026-12-04\", \"until Friday\"), or comment `/promptops destroy` when it is over"
        ),
    )))
}

/// Each lead of a timed end in `text`: where it starts, where its words end, and the lead
/// as written ("expires in").
pub(super) fn leads(text: &str) -> impl Iterator<Item = (usize, usize, &str)> {
    TIMED_END.captures_iter(text).filter_map(|caps| {
        let whole = caps.get(0)?;
        let lead = caps.name("lead")?;
        Some((whole.start(), whole.end(), lead.as_str()))
    })
}

/// The durations in `text` that nothing claims, as written ("48 hours"), each with the
/// sentence that names it in the plan's assumptions. `corrections` are where durations read
/// as corrections of the lifetime start.
pub(super) fn unclaimed(text: &str, corrections: &[usize]) -> Vec<String> {
    // Found once, and only the few words before each duration are looked at: a request
    // may hold many durations.
    let lead_ends: Vec<usize> = leads(text).map(|(_, end, _)| end).collect();
    let mut notes = Vec::new();
    let mut more = 0;
    for found in DURATION.find_iter(text) {
        let before = &text[..found.start()];
        let near = before
            .char_indices()
            .rev()
            .nth(CLAIMING_CHARS)
            .map_or(before, |(at, _)| &before[at..]);
        let after = text[found.end()..].trim_start();
        let claimed = CLAIMED.is_match(near)
            || lead_ends.binary_search(&found.start()).is_ok()
            || corrections.contains(&found.start())
            || after.to_ascii_lowercase().starts_with("ago");
        if claimed {
            continue;
        }
        // A few named, the rest counted: the plan's assumptions stay readable.
        if notes.len() == MOST_NOTED {
            more += 1;
            continue;
        }
        let written = found.as_str();
        let note = format!(
            "\"{written}\" was not read as the deployment's lifetime; to have it destroyed after that, write \"for {written}\""
        );
        if !notes.contains(&note) {
            notes.push(note);
        }
    }
    if more > 0 {
        notes.push(format!(
            "{more} more durations were not read as the deployment's lifetime"
        ));
    }
    notes
}

/// How many unclaimed durations the plan names one by one.
const MOST_NOTED: usize = 5;

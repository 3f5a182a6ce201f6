//! How long the request says the deployment is needed, read from its text by the offline
//! planner: "for 2 days", "for a week", "for eight days", "for 48h", "for the next 36
//! hours", "for 3 more days", "for about 3 days" (read as 3, and said so), "until Friday",
//! "until 2026-12-04", or the keys `expires_in: 3d` / `expires_at: 2026-12-04` written out.
//! The model planner answers the same with its `expires_in`/`expires_at` fields; both end
//! in core's [`ExpiryRequest`], validated the same way.
//!
//! A day of the year ("until Dec 20", `lifetime/month_day.rs`) is the next such day after
//! the request is planned, as a weekday is, and "until tomorrow" the day after; the reading
//! is stated.
//!
//! Nothing that reads as a lifetime is dropped: a phrase after "for" that counts hours,
//! days, weeks, minutes or nights but is not one whole number of hours, days or weeks
//! ("for 1.5 days", "for a few days", "for 2-3 days") and a date after "until" that is not
//! a YYYY-MM-DD date, a weekday, a day of the year or today and tomorrow ("until the end of
//! the month", "until 12/10": the one is no day, the other is read differently around the
//! world) are refused with the words written. Months and years are
//! listed as not used by the screening (`screen::ignored`), as before.

use std::sync::LazyLock;

use promptops_core::{ExpiryRequest, Lifetime, MAX_SANE_LIFETIME_HOURS, ValidationError};
use regex::Regex;

mod duration;
mod month_day;
mod start;
mod timed_end;

use duration::{Duration, ReadPast, duration};

/// The lifetime a request asks for, and how its words were read when that took a decision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LifetimeReading {
    pub expiry: Option<ExpiryRequest>,
    /// "\"for about 3 days\" read as a lifetime of 3d…", for the plan's assumptions.
    pub readings: Vec<String>,
}

/// A statement of the lifetime found in the text: read, or refused with why.
type Statement = Result<(ExpiryRequest, Option<String>), ValidationError>;

static LEAD: LazyLock<Regex> = LazyLock::new(|| {
    // A form's label may end in a colon: "Needed until: 2026-12-20".
    Regex::new(r"(?i)\b(?P<lead>for|until|till|through|thru)(?:\s*:)?\s+")
        .expect("lifetime lead pattern")
});

static KEYS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?P<key>expires_in|expires_at)\s*[:=]\s*(?P<value>[A-Za-z0-9-]+)")
        .expect("expiry keys pattern")
});

/// Words that make what follows "until" a date or time, read or not.
pub(crate) fn is_date_word(word: &str) -> bool {
    let word = word.trim_end_matches('.');
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let ordinal = ["st", "nd", "rd", "th"]
        .iter()
        .any(|s| word.strip_suffix(s).is_some_and(digits));
    // "12/10", "10.12.2026", "17:00", "5pm": a bare number is not enough ("through 2 VMs").
    let numeric = word.bytes().next().is_some_and(|b| b.is_ascii_digit())
        && word
            .bytes()
            .all(|b| b.is_ascii_digit() || b"-/.:apm".contains(&b))
        && !digits(word);
    ordinal
        || numeric
        || matches!(
            word,
            "jan"
                | "january"
                | "feb"
                | "february"
                | "mar"
                | "march"
                | "apr"
                | "april"
                | "may"
                | "jun"
                | "june"
                | "jul"
                | "july"
                | "aug"
                | "august"
                | "sep"
                | "sept"
                | "september"
                | "oct"
                | "october"
                | "nov"
                | "november"
                | "dec"
                | "december"
                | "today"
                | "tonight"
                | "tomorrow"
                | "tmrw"
                | "eod"
                | "eow"
                | "eom"
                | "eoy"
                | "noon"
                | "midnight"
                | "end"
                | "weekend"
                | "week"
                | "month"
                | "year"
                | "quarter"
        )
}

/// Reads the words after "until"/"through" (`lead`, as written). `None`: no date follows
/// ("through the API").
fn end_date(lead: &str, original: &[&str], words: &[String]) -> Option<Statement> {
    let skip = words
        .iter()
        .take_while(|w| matches!(w.as_str(), "next" | "this" | "the"))
        .count();
    let first = words.get(skip)?;
    if let Some(request) = ExpiryRequest::parse_end(first) {
        return Some(Ok((request, None)));
    }
    // "until tomorrow", "until tonight": counted from the day the request is planned.
    // "until end of day", "until the end of the day": today, as "until EOD".
    let rest: Vec<&str> = words[skip..].iter().map(String::as_str).collect();
    let end_of_day = match rest.as_slice() {
        ["end", "of", "day", ..] => Some(3),
        ["end", "of", "the", "day", ..] => Some(4),
        _ => None,
    };
    let (days_ahead, taken) = match (first.as_str(), end_of_day) {
        ("today" | "tonight" | "eod" | "cob", _) => (Some(0), 1),
        ("tomorrow" | "tmrw", _) => (Some(1), 1),
        (_, Some(taken)) => (Some(0), taken),
        _ => (None, 1),
    };
    if let Some(days) = days_ahead {
        let written = format!("{lead} {}", original[..skip + taken].join(" "));
        let request = ExpiryRequest::ThroughDaysAhead { days };
        let reading = format!("\"{written}\" read as {request}");
        return Some(Ok((request, Some(reading))));
    }
    if let Some((request, taken)) = month_day::read(&words[skip..]) {
        let written = format!("{lead} {}", original[..skip + taken].join(" "));
        return Some(match request {
            Some(request) => {
                let reading = format!("\"{written}\" read as {request}");
                Ok((request, Some(reading)))
            }
            None => Err(ValidationError::new(
                promptops_core::EXPIRES_AT_FIELD,
                &written,
                format!(
                    "\"{written}\" is no day of the calendar; write another date (\"until 2026-12-04\", \"until Dec 20\") or a lifetime (\"for 2 days\")"
                ),
            )),
        });
    }
    if !is_date_word(first) {
        return event_end(lead, original, words);
    }
    let taken = skip
        + words[skip..]
            .iter()
            .take(4)
            .take_while(|w| {
                is_date_word(w)
                    || w.bytes().all(|b| b.is_ascii_digit())
                    || matches!(w.as_str(), "of" | "the" | "next")
            })
            .count();
    let written = format!("{lead} {}", original[..taken].join(" "));
    Some(Err(ValidationError::new(
        promptops_core::EXPIRES_AT_FIELD,
        &written,
        format!(
            "\"{written}\" is not an end date PromptOps can read (it plans without a calendar); write the date as YYYY-MM-DD (e.g. \"until 2026-12-04\") or a month and day (\"until Dec 20\"), a weekday (\"until Friday\") or a lifetime (\"for 2 days\")"
        ),
    )))
}

/// Words that end an event: "until the demo ends", "until our workshop is over", "until
/// I'm done". Such an end is a lifetime the requester means, which the planner cannot know.
const EVENT_END_WORDS: &[&str] = &[
    "ends",
    "end",
    "over",
    "finishes",
    "finish",
    "finished",
    "done",
    "completes",
    "complete",
    "wraps",
    "closes",
];

/// "until <an event> ends": refused with the words written, as an end date that cannot be
/// read would be, rather than planned with the default lifetime. Only after "until"/"till":
/// "through" is as often a way ("through the proxy, which is done").
fn event_end(lead: &str, original: &[&str], words: &[String]) -> Option<Statement> {
    if !matches!(lead.to_ascii_lowercase().as_str(), "until" | "till") {
        return None;
    }
    let taken = words
        .iter()
        .take(6)
        .position(|word| EVENT_END_WORDS.contains(&word.as_str()))?
        + 1;
    let written = format!("{lead} {}", original[..taken].join(" "));
    Some(Err(ValidationError::new(
        promptops_core::EXPIRES_AT_FIELD,
        &written,
        format!(
            "\"{written}\" names an event, not a time: PromptOps cannot know when it is; write a lifetime (\"for 2 days\") or an end date (\"until 2026-12-04\", \"until Friday\"), and `/promptops extend` adds time later"
        ),
    )))
}

/// Reads the words after "for" or another `lead` ("expires in"; `original` as written,
/// `words` lower-case).
fn lifetime_for(lead: &str, original: &[&str], words: &[String]) -> Option<Statement> {
    let written =
        |used: usize| format!("{lead} {}", original[..used.min(original.len())].join(" "));
    let refuse = |written: &str, message: String| {
        ValidationError::new(promptops_core::EXPIRES_IN_FIELD, written, message)
    };
    let statement = match duration(words) {
        Duration::None | Duration::Unheld => return None,
        Duration::Unreadable { words } => {
            let written = written(words);
            Err(refuse(
                &written,
                format!(
                    "\"{written}\" is not a lifetime PromptOps can read: write one whole number of hours, days or weeks (e.g. \"for 36 hours\", \"for 3 days\") or an end date (\"until 2026-12-04\", \"until Friday\")"
                ),
            ))
        }
        Duration::Read {
            number: 0, words, ..
        } => {
            let written = written(words);
            Err(refuse(
                &written,
                format!(
                    "\"{written}\" is not a lifetime: a lifetime must be positive, at least 1 hour"
                ),
            ))
        }
        Duration::Read {
            number,
            hours_per,
            words,
            how,
        } => {
            let written = written(words);
            match number.checked_mul(hours_per).and_then(Lifetime::from_hours) {
                Some(lifetime) => {
                    let reading = how.map(|how| match how {
                        ReadPast::Approximate => format!(
                            "\"{written}\" is an approximation, planned as a lifetime of exactly {lifetime} from the apply"
                        ),
                        ReadPast::More => format!(
                            "\"{written}\" read as a lifetime of {lifetime} from the apply (not added to an earlier expiry)"
                        ),
                    });
                    Ok((ExpiryRequest::For { lifetime }, reading))
                }
                None => Err(refuse(
                    &written,
                    format!(
                        "\"{written}\" is not a lifetime PromptOps can hold: at most {} days",
                        MAX_SANE_LIFETIME_HOURS / 24
                    ),
                )),
            }
        }
    };
    Some(statement)
}

/// The words of one clause after `at`: up to the next clause punctuation or sentence end,
/// as written and lower-case, without surrounding quotes or colons.
fn clause_words(text: &str, at: usize) -> (Vec<&str>, Vec<String>) {
    let rest = &text[at..];
    let mut end = rest.len();
    let mut chars = rest.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let digit_next = chars.peek().is_some_and(|(_, n)| n.is_ascii_digit());
        if ",;!?\n()[]".contains(c) || (c == '.' && !digit_next) {
            end = i;
            break;
        }
    }
    let original: Vec<&str> = rest[..end]
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| "\"'`:*".contains(c)))
        // "~3" is "about 3".
        .flat_map(|w| match w.strip_prefix('~') {
            Some(rest) if !rest.is_empty() => vec!["~", rest],
            _ => vec![w],
        })
        .filter(|w| !w.is_empty())
        .take(8)
        .collect();
    let lower = original.iter().map(|w| w.to_lowercase()).collect();
    (original, lower)
}

/// The expiry `text` asks for; `Err` names a lifetime that cannot be one ("for 900 days",
/// "until 12/10"). The last statement wins, so that a `/promptops plan for 3 days`
/// overrides the issue.
pub fn read(text: &str) -> Result<LifetimeReading, ValidationError> {
    // As the scanner: HTML comments, URLs and unticked options state nothing.
    let text = crate::mentions::request_text(text);
    // Markdown's "__Lifetime:__" is "**Lifetime:**": the underscores are word characters,
    // so no lead word would start after them. (Same length: offsets hold.)
    let text = text.replace("__", "**");
    let text = text.as_str();
    let mut found: Vec<(usize, Statement)> = Vec::new();
    for caps in LEAD.captures_iter(text) {
        let (Some(whole), Some(lead)) = (caps.get(0), caps.name("lead")) else {
            continue;
        };
        let (original, words) = clause_words(text, whole.end());
        let statement = if lead.as_str().eq_ignore_ascii_case("for") {
            lifetime_for("for", &original, &words)
                .or_else(|| timed_end::for_today(&original, &words))
        } else {
            end_date(lead.as_str(), &original, &words)
        };
        if let Some(statement) = statement {
            found.push((whole.start(), statement));
        }
    }
    for (at, end, lead) in timed_end::leads(text) {
        let (original, words) = clause_words(text, end);
        let lead = lead.split_whitespace().collect::<Vec<_>>().join(" ");
        let statement = lifetime_for(&lead, &original, &words)
            .or_else(|| timed_end::end_date_after(&lead, &original, &words))
            .or_else(|| timed_end::end_date_on(&lead, &original, &words))
            .or_else(|| timed_end::event_after(&lead, &original, &words));
        if let Some(statement) = statement {
            found.push((at, statement));
        }
    }
    for caps in KEYS.captures_iter(text) {
        let at = caps.get(0).map_or(0, |m| m.start());
        found.push((at, key_statement(&caps["key"], &caps["value"])));
    }
    let mut starts = Vec::new();
    for start in start::starts(text) {
        starts.push(start.reading());
        if let Some(end) = start.range_end {
            found.push((start.at, end));
        }
    }
    let corrected = corrections(text, &mut found);
    found.sort_by_key(|(at, _)| *at);
    let mut unclaimed = timed_end::unclaimed(text, &corrected);
    unclaimed.extend(starts);
    let Some((_, last)) = found.pop() else {
        return Ok(LifetimeReading {
            expiry: None,
            readings: unclaimed,
        });
    };
    let (expiry, reading) = last?;
    Ok(LifetimeReading {
        expiry: Some(expiry),
        readings: reading.into_iter().chain(unclaimed).collect(),
    })
}

/// Why a model's expiry (`planned`) is not the lifetime the request states, if it is not:
/// compared by the end each gives for a deployment planned and applied now, so that "3d"
/// and "72h", or "Friday" and that Friday's date, agree.
pub(crate) fn mismatch(
    stated: &ExpiryRequest,
    planned: Option<&ExpiryRequest>,
) -> Option<ValidationError> {
    let now = chrono::Utc::now();
    let end = |expiry: &ExpiryRequest| expiry.date(now, now);
    if planned.is_some_and(|planned| end(planned) == end(stated)) {
        return None;
    }
    let has = planned.map_or_else(|| "no end".to_owned(), |p| format!("an end {p}"));
    Some(ValidationError::new(
        promptops_core::EXPIRES_IN_FIELD,
        &planned.map_or_else(|| "none".to_owned(), ToString::to_string),
        format!("you asked for the deployment to end {stated}; the plan has {has}"),
    ))
}

/// Corrections of a lifetime stated before them ("for 3 days, actually 5 days", "for 2
/// days, no wait, 3"): each is a statement after the one it corrects, so it is the one
/// read. Returns where each corrected duration starts (so that it is not named as a
/// duration nothing read). A duration after a marker with no lifetime before it is left
/// alone: it may be anything.
fn corrections(text: &str, found: &mut Vec<(usize, Statement)>) -> Vec<usize> {
    let mut starts = Vec::new();
    for (at, value) in crate::mentions::number_corrections(text) {
        if !found.iter().any(|(earlier, _)| *earlier < at) {
            continue;
        }
        let (original, words) = clause_words(text, value);
        let lead =
            text[at..value].trim_end_matches(|c: char| c.is_whitespace() || ",:-".contains(c));
        let Some(statement) = lifetime_for(lead, &original, &words) else {
            continue;
        };
        let used = match duration(&words) {
            Duration::Read { words, .. } | Duration::Unreadable { words } => words,
            _ => original.len(),
        };
        let said = format!(
            "{} {}",
            text[at..value].trim_end(),
            original[..used.min(original.len())].join(" ")
        );
        let note = format!("\"{said}\" is read as a correction of the lifetime");
        found.push((
            at,
            statement.map(|(expiry, reading)| {
                let reading = reading.map_or(note.clone(), |r| format!("{note}; {r}"));
                (expiry, Some(reading))
            }),
        ));
        starts.push(value);
    }
    starts
}

/// Whether `from_verb`, starting with a deleting verb, ends the deployment after a time
/// ("delete it after 3 days") or an event ("delete it after the demo") rather than asks for
/// its deletion: the screening then leaves it to the lifetime, which reads the one and
/// refuses the other as a time it cannot know.
pub(crate) fn ends_after_a_time(from_verb: &str) -> bool {
    let Some((0, end, lead)) = timed_end::leads(from_verb).next() else {
        return false;
    };
    let (original, words) = clause_words(from_verb, end);
    // A duration ends the deployment after "in" or "after" ("delete them in 3 days"), or
    // before "later" ("delete them 3 days later"); the leads without either word are there
    // for the dates after them.
    let lower = lead.to_ascii_lowercase();
    let timed = match duration(&words) {
        Duration::Read { words: used, .. } => {
            lower.ends_with(" in")
                || lower.ends_with(" after")
                || words.get(used).is_some_and(|w| w == "later")
        }
        Duration::None => false,
        _ => lower.ends_with(" in") || lower.ends_with(" after"),
    };
    timed
        || timed_end::end_date_on(lead, &original, &words).is_some()
        || timed_end::event_after(lead, &original, &words).is_some()
}

/// `expires_in: 3d` or `expires_at: 2026-12-04`.
fn key_statement(key: &str, value: &str) -> Statement {
    let request = if key.eq_ignore_ascii_case("expires_in") {
        value
            .parse::<Lifetime>()
            .map(|lifetime| ExpiryRequest::For { lifetime })
            .map_err(|err| ValidationError::new("expires_in", value, err.to_string()))
    } else {
        ExpiryRequest::parse_end(value).ok_or_else(|| {
            ValidationError::new(
                "expires_at",
                value,
                "expected a date (YYYY-MM-DD) or a weekday name",
            )
        })
    };
    request.map(|request| (request, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lifetime(text: &str) -> Option<ExpiryRequest> {
        Some(ExpiryRequest::For {
            lifetime: text.parse().unwrap(),
        })
    }

    fn expiry(text: &str) -> Option<ExpiryRequest> {
        read(text)
            .unwrap_or_else(|e| panic!("{text:?}: {e}"))
            .expiry
    }

    fn refused(text: &str) -> ValidationError {
        read(text).expect_err(text)
    }

    #[test]
    fn phrasings() {
        assert_eq!(expiry("5 T4 VMs for 2 days"), lifetime("2d"));
        assert_eq!(expiry("an A100 for a week please"), lifetime("1w"));
        assert_eq!(expiry("for the next 36 hours"), lifetime("36h"));
        assert_eq!(
            expiry("a demo until Friday"),
            ExpiryRequest::parse_end("friday")
        );
        assert_eq!(expiry("expires_in: 3d"), lifetime("3d"));
        assert_eq!(expiry("2 T4 VMs in us-west1"), None);
        assert_eq!(
            expiry("for 2 months"),
            None,
            "months are listed as not used"
        );
        assert_eq!(expiry("a VM for 5 users, for training"), None);
    }

    #[test]
    fn number_words_glued_units_and_more_are_read() {
        for (text, want) in [
            ("for eight days", "8d"),
            ("for twelve hours", "12h"),
            ("for thirty days", "30d"),
            ("for twenty-one days", "21d"),
            ("for 48h", "48h"),
            ("for 48hrs", "48h"),
            ("for a 3-day test", "3d"),
            ("for a couple of days", "2d"),
            ("for a fortnight", "2w"),
            ("for 3 days 2 T4 VMs", "3d"),
        ] {
            assert_eq!(expiry(text), lifetime(want), "{text:?}");
        }
        let more = read("for 3 more days").unwrap();
        assert_eq!(more.expiry, lifetime("3d"));
        assert!(more.readings[0].contains("not added"), "{more:?}");
        let about = read("for ~3 days").unwrap();
        assert_eq!(about.expiry, lifetime("3d"));
        assert!(about.readings[0].contains("approximation"), "{about:?}");
    }

    #[test]
    fn durations_and_dates_that_cannot_be_read_are_refused_with_their_words() {
        for (text, words) in [
            ("for 1.5 days", "for 1.5 days"),
            ("for a few days", "for a few days"),
            ("for 2-3 days", "for 2-3 days"),
            ("for a day or two", "for a day"),
            ("for 2 days and 4 hours", "for 2 days"),
            ("for 30 minutes", "for 30 minutes"),
            ("for the whole week", "for the whole week"),
        ] {
            let err = refused(text);
            assert_eq!(err.field, "expires_in", "{text:?}");
            assert!(err.message.contains(words), "{text:?}: {err}");
        }
        for (text, words) in [
            ("until 12/10, 2 T4", "until 12/10"),
            ("until Feb 30", "until Feb 30"),
            ("till the end of the month", "till the end of the month"),
            ("until 2026-13-45", "until 2026-13-45"),
            ("2 T4 until the demo ends", "until the demo ends"),
            (
                "until our workshop is over, thanks",
                "until our workshop is over",
            ),
            ("till we're done", "till we're done"),
        ] {
            let err = refused(text);
            assert_eq!(err.field, "expires_at", "{text:?}");
            assert!(err.message.contains(words), "{text:?}: {err}");
        }
        assert_eq!(expiry("access through the API"), None);
        assert_eq!(expiry("through the proxy that is done"), None);
        assert_eq!(expiry("retry until it works"), None);
        assert!(
            refused("until the demo ends")
                .message
                .contains("names an event")
        );
        assert_eq!(
            expiry("<!-- e.g. until tomorrow --> for 2 days"),
            lifetime("2d")
        );
    }

    #[test]
    fn the_last_statement_wins_and_absurd_ones_are_named() {
        assert_eq!(expiry("for 2 days\n\nactually for 5 days"), lifetime("5d"));
        let err = refused("for 900 days");
        assert_eq!(err.field, "expires_in");
        assert!(err.message.contains("366 days"), "{err}");
        let err = refused("for 0 days");
        assert!(err.message.contains("must be positive"), "{err}");
        assert!(!err.message.contains("366"), "{err}");
    }
}

//! What follows "for": one whole number of hours, days or weeks ("3 days", "48h", "a
//! week", "3 more days", "about 3 days"), months or years (left to the screening's "Not
//! used" note), a duration that cannot be read ("1.5 days", "a few days", "2-3 days"), or
//! no duration at all ("for 5 users", "for training").

use crate::mentions::parse_count;

/// A time unit after a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    /// Hours, days, weeks: this many hours each.
    Hours(u32),
    /// Minutes, nights, weekends: durations a lifetime is not counted in.
    Unread,
    /// Months and years: not held, listed as not used by the screening.
    Unheld,
}

fn unit(word: &str) -> Option<Unit> {
    Some(match word {
        "h" | "hr" | "hrs" | "hour" | "hours" => Unit::Hours(1),
        "d" | "day" | "days" => Unit::Hours(24),
        "w" | "wk" | "wks" | "week" | "weeks" => Unit::Hours(24 * 7),
        "fortnight" | "fortnights" => Unit::Hours(24 * 14),
        "min" | "mins" | "minute" | "minutes" | "night" | "nights" | "weekend" | "weekends" => {
            Unit::Unread
        }
        "mo" | "mos" | "month" | "months" | "yr" | "yrs" | "year" | "years" => Unit::Unheld,
        _ => return None,
    })
}

/// "48h" or "3-day": a whole number glued to its unit.
fn glued(word: &str) -> Option<(u32, Unit)> {
    let digits = word.bytes().take_while(u8::is_ascii_digit).count();
    let rest = word.get(digits..)?;
    let number = word[..digits].parse().ok()?;
    Some((number, unit(rest.strip_prefix('-').unwrap_or(rest))?))
}

/// The unit a word names, even after a number that is not whole ("1.5h", "2mo").
fn names_a_unit(word: &str) -> Option<Unit> {
    unit(word).or_else(|| {
        let rest = word.trim_start_matches(|c: char| c.is_ascii_digit() || ".,/~+-".contains(c));
        (rest.len() < word.len()).then(|| unit(rest)).flatten()
    })
}

/// Words that may stand between "for" and a time unit in a phrase that states a duration,
/// even one that cannot be read ("for a few days", "for the whole week").
fn is_quantity_word(word: &str) -> bool {
    word.chars().any(char::is_numeric)
        || parse_count(word).is_some()
        || matches!(
            word,
            "a" | "an"
                | "few"
                | "several"
                | "couple"
                | "of"
                | "half"
                | "some"
                | "many"
                | "more"
                | "another"
                | "extra"
                | "additional"
                | "the"
                | "next"
                | "about"
                | "around"
                | "roughly"
                | "approximately"
                | "approx"
                | "~"
                | "at"
                | "least"
                | "most"
                | "up"
                | "to"
                | "or"
                | "and"
                | "maybe"
                | "just"
                | "only"
                | "whole"
                | "entire"
                | "full"
                | "over"
                | "under"
                | "less"
                | "than"
        )
}

/// A word of the phrase that the lifetime does not hold, and that the plan states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ReadPast {
    /// "about 3 days": planned as exactly 3.
    Approximate,
    /// "3 more days", "another 3 days": counted from the apply, not added to an expiry.
    More,
}

/// What follows "for".
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Duration {
    /// Not a duration ("for 5 users", "for training").
    None,
    /// `number` × `hours_per` hours, stated in `words` words; `how` is a word read past.
    Read {
        number: u32,
        hours_per: u32,
        words: usize,
        how: Option<ReadPast>,
    },
    /// Months or years: the screening lists them as not used.
    Unheld,
    /// A duration that is not one whole number of hours, days or weeks, `words` long.
    Unreadable { words: usize },
}

/// A count at `words[at]`: digits or number words, "a"/"an" (one, unless a count follows:
/// "a dozen", "a 3-day"), "a couple of"; with its unit when glued ("48h"). Returns the
/// count, the glued unit and the index after it.
fn count_at(words: &[String], at: usize) -> Option<(u32, Option<Unit>, usize)> {
    let word = words.get(at)?.as_str();
    if matches!(word, "a" | "an") {
        return count_at(words, at + 1).or(Some((1, None, at + 1)));
    }
    if let Some((number, unit)) = glued(word) {
        return Some((number, Some(unit), at + 1));
    }
    // "2x" is a count to the scanner, not here.
    let number = parse_count(word).filter(|_| !word.ends_with('x'))?;
    let of =
        matches!(word, "couple" | "pair" | "dozen") && words.get(at + 1).is_some_and(|w| w == "of");
    Some((number, None, at + 1 + usize::from(of)))
}

/// Work done in two, three or four dimensions ("3D rendering"): after "3d" it makes the
/// word no duration.
fn is_work_in_dimensions(word: &str) -> bool {
    matches!(
        word,
        "rendering"
            | "render"
            | "renders"
            | "renderer"
            | "modeling"
            | "modelling"
            | "model"
            | "models"
            | "graphics"
            | "printing"
            | "animation"
            | "animations"
            | "scanning"
            | "scans"
            | "reconstruction"
            | "vision"
            | "visualization"
            | "visualisation"
            | "simulation"
            | "simulations"
            | "design"
            | "cad"
            | "assets"
            | "scenes"
            | "games"
            | "gaming"
            | "art"
            | "artwork"
            | "content"
            | "workloads"
            | "work"
            | "image"
            | "images"
            | "imaging"
            | "segmentation"
            | "detection"
            | "data"
    )
}

/// Reads the words after "for" (lower-case, at most a clause).
pub(super) fn duration(words: &[String]) -> Duration {
    let mut at = 0;
    let mut how = None;
    while let Some(word) = words.get(at) {
        match word.as_str() {
            "the" | "next" => {}
            "another" => how = Some(ReadPast::More),
            "about" | "around" | "roughly" | "approximately" | "approx" | "~" => {
                how = Some(ReadPast::Approximate);
            }
            _ => break,
        }
        at += 1;
    }
    // "for 3D rendering", "a GPU for 2d vision": the dimensions of the work, no time.
    if words
        .get(at)
        .is_some_and(|w| matches!(w.as_str(), "2d" | "3d" | "4d"))
        && words.get(at + 1).is_some_and(|w| is_work_in_dimensions(w))
    {
        return Duration::None;
    }
    counted(words, at, how).unwrap_or_else(|| unreadable_or_none(words))
}

/// One count and its unit from `words[at]` on ("3 days", "48h", "3 more days", "a week").
fn counted(words: &[String], at: usize, how: Option<ReadPast>) -> Option<Duration> {
    let (number, glued_unit, mut next) = count_at(words, at)?;
    let mut how = how;
    if glued_unit.is_none()
        && matches!(
            words.get(next).map(String::as_str),
            Some("more" | "extra" | "additional")
        )
    {
        next += 1;
        how.get_or_insert(ReadPast::More);
    }
    let (unit, end) = match glued_unit {
        Some(unit) => (unit, next),
        None => (unit(words.get(next)?)?, next + 1),
    };
    let Unit::Hours(hours_per) = unit else {
        return None;
    };
    (!another_amount(words, end)).then_some(Duration::Read {
        number,
        hours_per,
        words: end,
        how,
    })
}

/// Whether another amount of time follows at `end` ("4 hours", "and a half", "or two"):
/// then the phrase is not one number.
fn another_amount(words: &[String], end: usize) -> bool {
    let joined = matches!(
        words.get(end).map(String::as_str),
        Some("and" | "or" | "to" | "plus" | "-")
    );
    let at = end + usize::from(joined);
    if joined && words.iter().skip(at).take(2).any(|w| w == "half") {
        return true;
    }
    let Some((_, glued_unit, next)) = count_at(words, at) else {
        return false;
    };
    let unit_next = words.get(next).is_some_and(|w| unit(w).is_some());
    glued_unit.is_some() || unit_next || (joined && words.get(next).is_none())
}

/// Whether words that could not be read state a duration anyway: only quantity words
/// up to a time unit ("for a few days", "for 1.5 days", "for 2 months").
fn unreadable_or_none(words: &[String]) -> Duration {
    for (at, word) in words.iter().enumerate().take(6) {
        match names_a_unit(word) {
            Some(Unit::Unheld) => return Duration::Unheld,
            Some(_) => return Duration::Unreadable { words: at + 1 },
            None if is_quantity_word(word) => {}
            None => return Duration::None,
        }
    }
    Duration::None
}

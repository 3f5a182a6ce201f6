//! Places the request rules out ("anywhere except Europe", "not in us-east1, we're in
//! Oregon", "outside the US"): read before the places themselves, so that a place named
//! only to be avoided is not taken for the one to plan. Each is kept, with the regions or
//! zone it covers, and the plan is held to staying out of them (`Mentions::check`).

use std::collections::HashMap;

use super::names::{self, Name};
use super::phrases::{Place, place_index};
use super::tokens::Boundary;
use super::{Role, Scanner, Token};
use crate::mentions::{Excluded, Mentioned};
use promptops_core::place_key;

/// Longest run of words a place name has ("northern virginia", "the united states").
const PLACE_WORDS: usize = 4;

/// How many words before a place may rule it out ("anywhere except in"); "from" only
/// when a place moved to follows it (checked by the caller).
fn exclusion_lead(words: &[&str]) -> Option<usize> {
    // The longest lead the words end with counts: "not in" takes both words ("in" alone
    // rules nothing out).
    let leads: &[&[&str]] = &[
        &["anywhere", "except", "in"],
        &["anywhere", "but", "in"],
        &["anywhere", "but"],
        &["anything", "but"],
        &["except", "in"],
        &["except", "for"],
        &["not", "in"],
        &["outside", "of"],
        &["other", "than"],
        &["instead", "of"],
        &["rather", "than"],
        &["except"],
        &["excluding"],
        &["excl"],
        &["outside"],
        &["avoid"],
        &["avoiding"],
        &["not"],
        &["anywhere", "except"],
        &["from"],
    ];
    leads
        .iter()
        .filter(|lead| words.ends_with(lead))
        .map(|lead| lead.len())
        .max()
}

impl Scanner<'_> {
    /// Records the places ruled out and takes their words from the scan. A list after one
    /// lead is ruled out whole ("except us-east1 and us-east4").
    pub(super) fn find_excluded_places(&mut self) {
        let index = place_index(self.catalog);
        let mut i = 0;
        while i < self.tokens.len() {
            let Some(lead) = self.lead_ending_before(i) else {
                i += 1;
                continue;
            };
            // "if not us-west1, then us-west2": a fallback, not a place ruled out (both are
            // named, and refused as two regions).
            if i - lead > 0
                && self.word(i - lead) == Some("not")
                && self.word(i - lead - 1) == Some("if")
            {
                i += 1;
                continue;
            }
            let lead_words = self.written(i - lead, i - 1);
            let after_not = self.word(i - lead) == Some("not");
            let mut start = i;
            while let Some((end, covered)) = self.place_at(start, &index) {
                // "from us-west1 to us-east1": the place moved from, when one moved to follows.
                if lead_words == "from"
                    && !(matches!(self.word(end + 1), Some("to" | "into"))
                        && self.place_at(end + 2, &index).is_some())
                {
                    break;
                }
                // Each place of a list with the words that rule it out ("except the
                // netherlands" in "except belgium and the netherlands").
                let written = format!("{lead_words} {}", self.written(start, end));
                self.mentions
                    .push_excluded(Mentioned::new(covered, written));
                for role in &mut self.roles[start..=end] {
                    *role = Role::Used;
                }
                start = end + 1;
                // "except us-east1 and us-east4", "not us-east1 or us-east4", "except
                // Belgium, London and Frankfurt".
                let joint = self.is_list_joint(end + 1, after_not)
                    || self.comma_list_goes_on(end + 1, after_not, &index);
                if !joint {
                    break;
                }
                start = end + 2;
            }
            i = start.max(i + 1);
        }
    }

    /// How many words ruling out a place end right before `i` ("not in", "except").
    fn lead_ending_before(&self, i: usize) -> Option<usize> {
        if self.roles.get(i) != Some(&Role::Free) {
            return None;
        }
        let mut words: Vec<&str> = (i.saturating_sub(3)..i)
            .rev()
            .map_while(|j| self.word(j))
            .collect();
        words.reverse();
        exclusion_lead(&words)
    }

    fn after_article(&self, i: usize) -> usize {
        if self.word(i) == Some("the") {
            i + 1
        } else {
            i
        }
    }

    /// "or" or "nor" between places ruled out together, and "and" after words other than
    /// "not" ("except us-east1 and us-east4"; "not in us-east1 and us-west1 is fine" names
    /// the one wanted). Not a comma: "not us-east1, us-west1 please" names it too.
    fn is_list_joint(&self, i: usize, after_not: bool) -> bool {
        match self.word(i) {
            Some("or" | "nor") => true,
            Some("and") => !after_not,
            _ => false,
        }
    }

    /// Whether a comma at `i` goes on with a list of places that ends in a joint and one
    /// more place ("Belgium, London and Frankfurt"). A place after a comma alone ("not
    /// us-east1, us-west1 please") is the one wanted.
    fn comma_list_goes_on(
        &self,
        mut i: usize,
        after_not: bool,
        index: &HashMap<String, Place<'_>>,
    ) -> bool {
        while self.tokens.get(i) == Some(&Token::Break(Boundary::Mark)) {
            let Some((end, _)) = self.place_at(i + 1, index) else {
                return false;
            };
            i = end + 1;
            if self.is_list_joint(i, after_not) {
                return self.place_at(i + 1, index).is_some();
            }
        }
        false
    }

    /// The place starting at `start` and what it covers: a region or zone name, or a place
    /// or area the catalog knows ("the US" with its article, "us-east1" after one).
    fn place_at(
        &self,
        start: usize,
        index: &HashMap<String, Place<'_>>,
    ) -> Option<(usize, Excluded)> {
        let after = self.after_article(start);
        if let Some(word) = self.free_word(after) {
            match names::classify(word, self.catalog) {
                Ok(Some(Name::Region(region))) => {
                    return Some((after, Excluded::Regions(vec![region])));
                }
                Ok(Some(Name::Zone(zone))) => return Some((after, Excluded::Zone(zone))),
                _ => {}
            }
        }
        for first in [start, after] {
            for len in (1..=PLACE_WORDS).rev() {
                let words: Option<Vec<&str>> =
                    (first..first + len).map(|j| self.free_word(j)).collect();
                let Some(words) = words else { continue };
                let last = first + len - 1;
                match index.get(&place_key(&words.join(" "))) {
                    Some(Place::Region(region)) => {
                        return Some((last, Excluded::Regions(vec![(*region).to_owned()])));
                    }
                    Some(Place::Area(area)) => {
                        return Some((last, Excluded::Regions(area.regions.clone())));
                    }
                    _ => {}
                }
            }
        }
        None
    }
}

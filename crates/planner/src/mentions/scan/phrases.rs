//! Phrases beyond plain values: places and areas instead of regions, "the cheapest GPU",
//! relative changes ("add 2 more VMs"), zone letters, "5 users each with a VM", count ranges
//! and qualified counts ("about 4", "at least 4", "upgrade to 4 GPUs").

use std::collections::HashMap;

use promptops_core::{Area, OtherRegion, ValidationError, place_key};

use super::bare_relative::FirstNamed;
use super::words::is_place_noun;
use super::{Head, Role, Scanner, is_gpu_noun, is_vm_noun, parse_count};
use crate::mentions::relative::{Change, CountField};
use crate::mentions::{CountKind, GpuRequirement, Mentioned};

/// What a place or area name in the catalog stands for.
#[derive(Clone)]
pub(super) enum Place<'a> {
    Region(&'a str),
    Area(&'a Area),
    /// A Google Cloud region the catalog does not offer ("Zurich").
    Other(&'a OtherRegion),
}

pub(super) fn place_index(catalog: &promptops_core::Catalog) -> HashMap<String, Place<'_>> {
    let mut index = HashMap::new();
    for region in catalog.region_list() {
        for place in &region.places {
            index.insert(place_key(place), Place::Region(region.name.as_str()));
        }
        // The region's own name with its dash left out ("uswest1") or written as a space
        // ("us west1"). Not with the digits apart ("us east 4 A100"): they may be a count.
        for written in [region.name.replace('-', ""), region.name.replace('-', " ")] {
            index.insert(place_key(&written), Place::Region(region.name.as_str()));
        }
    }
    for area in catalog.areas() {
        for name in &area.names {
            index.insert(place_key(name), Place::Area(area));
        }
    }
    for other in catalog.other_regions() {
        for place in &other.places {
            index.insert(place_key(place), Place::Other(other));
        }
    }
    index
}

fn is_change_verb(word: &str) -> bool {
    matches!(
        word,
        "upgrade"
            | "upgraded"
            | "increase"
            | "increased"
            | "bump"
            | "bumped"
            | "raise"
            | "raised"
            | "scale"
            | "scaled"
            | "grow"
            | "upsize"
            | "go"
    )
}

/// A count in a relative change: how many, added (1) or removed (-1), the index after it,
/// and whether a relative word ("more", "fewer", "another") said it is a change.
struct RelativeCount {
    count: u32,
    sign: i64,
    next: usize,
    relative_word: bool,
}

impl Scanner<'_> {
    /// Place names ("Oregon", "São Paulo") are regions; area names ("Europe", "the US") are
    /// areas. Longest match first ("Northern Virginia" before "Virginia").
    pub(super) fn find_places(&mut self) {
        let index = place_index(self.catalog);
        let mut i = 0;
        while i < self.tokens.len() {
            let mut matched = 0;
            for len in (1..=4).rev() {
                let words: Option<Vec<&str>> = (i..i + len).map(|j| self.free_word(j)).collect();
                let Some(words) = words else { continue };
                let written = words.join(" ");
                match index.get(&place_key(&written)).cloned() {
                    Some(Place::Region(region)) => {
                        let reading = format!("\"{written}\" read as region {region}");
                        self.mentions.push_region_read(
                            Mentioned::new(region.to_owned(), written).with_reading(reading),
                        );
                    }
                    Some(Place::Area(area)) => {
                        self.mentions
                            .push_area(Mentioned::new(area.clone(), written));
                    }
                    Some(Place::Other(other)) => {
                        let message = format!(
                            "\"{written}\" is Google Cloud region {}, which this catalog does not offer; known regions: {}",
                            other.name,
                            self.catalog.regions().join(", ")
                        );
                        self.errors
                            .push(ValidationError::new("region", &written, message));
                    }
                    None => continue,
                }
                matched = len;
                break;
            }
            if matched > 0 {
                for role in &mut self.roles[i..i + matched] {
                    *role = Role::Used;
                }
                i += matched;
            } else {
                i += 1;
            }
        }
    }

    /// "the cheapest GPU", "lowest-cost GPUs", "least expensive NVIDIA GPU".
    pub(super) fn find_cheapest(&mut self) {
        for i in 0..self.tokens.len() {
            let Some(word) = self.free_word(i) else {
                continue;
            };
            let after = match (word, self.word(i + 1)) {
                ("cheapest" | "lowest-cost" | "least-expensive" | "lowest-priced", _) => i + 1,
                ("least", Some("expensive")) | ("lowest", Some("cost" | "price" | "priced")) => {
                    i + 2
                }
                _ => continue,
            };
            let mut noun = None;
            for j in after..after + 3 {
                let Some(next) = self.word(j) else { break };
                if self.roles[j] == Role::Gpu {
                    break; // "the cheapest T4": the GPU is named.
                }
                if is_gpu_noun(next) {
                    noun = Some(j);
                    break;
                }
                if is_place_noun(next) {
                    self.note_one_price_everywhere(&self.written(i, j));
                    break;
                }
            }
            // "wherever it's cheapest", "where it is cheapest".
            if noun.is_none()
                && (i.saturating_sub(3)..i)
                    .any(|j| matches!(self.word(j), Some("wherever" | "where")))
            {
                self.note_one_price_everywhere(&self.written(i, i));
            }
            let Some(end) = noun else { continue };
            let written = self.written(i, end);
            let requirement = GpuRequirement::new(None, true, self.catalog);
            let reading = format!("\"{written}\" read as {}", requirement.describe());
            self.mentions.push_gpu_requirement(
                Mentioned::new(requirement, written).with_reading(reading),
                self.catalog,
            );
            self.roles[i] = Role::Used;
        }
    }

    /// "the cheapest region": the catalog prices a GPU or machine type the same in every
    /// region, so the plan says that no region is cheaper rather than passing over it.
    fn note_one_price_everywhere(&mut self, written: &str) {
        let notice = format!(
            "\"{written}\": the catalog gives each GPU and machine type one price in every region (prices as of {}), so no region is cheaper; the region was chosen as it would be without it",
            self.catalog.prices_as_of()
        );
        if !self.mentions.notices.contains(&notice) {
            self.mentions.notices.push(notice);
        }
    }

    /// Relative changes: "add 2 (more) VMs", "2 more VMs", "another VM", "one less VM",
    /// "2 fewer nodes", "remove 1 VM", "double the GPUs", "halve the number of VMs".
    pub(super) fn find_relative(&mut self) {
        // Looked for once: a request may hold many relative words.
        let named = self.first_named();
        for i in 0..self.tokens.len() {
            let Some(word) = self.free_word(i).map(str::to_owned) else {
                continue;
            };
            if !self.find_scaling(i, &word) {
                self.find_added(i, &word, named);
            }
        }
    }

    /// "double the GPUs", "halve the number of VMs". True when `word` is a scaling verb,
    /// whether or not a count follows it.
    fn find_scaling(&mut self, i: usize, word: &str) -> bool {
        // "2x the VMs" scales as "double the VMs" does.
        let multiplier = word
            .strip_suffix('x')
            .filter(|_| self.word(i + 1) == Some("the"))
            .and_then(|digits| digits.parse::<u32>().ok())
            .filter(|times| (2..=10).contains(times));
        let (times, divided_by) = match (word, multiplier) {
            (_, Some(times)) => (times, 1),
            ("double", _) => (2, 1),
            ("triple", _) => (3, 1),
            ("quadruple", _) => (4, 1),
            ("halve", _) => (1, 2),
            _ => return false,
        };
        let Some((field, end)) = self.scaled_count(i + 1) else {
            return true;
        };
        let written = self.written(i, end);
        self.mentions.changes.push(Mentioned::new(
            Change::Scale {
                field,
                times,
                divided_by,
            },
            written,
        ));
        self.roles[i] = Role::Used;
        true
    }

    /// The count a scaling verb applies to, from `from` on: the VM or GPU noun after
    /// "the (number of)", and the index the phrase ends at.
    fn scaled_count(&self, from: usize) -> Option<(CountField, usize)> {
        let mut j = from;
        while self.word(j).is_some_and(|w| {
            matches!(
                w,
                "the" | "our" | "my" | "number" | "count" | "amount" | "of"
            )
        }) {
            j += 1;
        }
        let noun = self.word(j)?;
        let field = if is_vm_noun(noun) {
            CountField::Vms
        } else if is_gpu_noun(noun) || self.roles[j] == Role::Gpu {
            CountField::GpusPerVm
        } else {
            return None;
        };
        let end = if self.word(j + 1) == Some("count") {
            j + 1
        } else {
            j
        };
        Some((field, end))
    }

    /// "add 2 (more) VMs", "2 more VMs", "another VM", "one less VM", "2 fewer nodes",
    /// "remove 1 VM", starting at `word` (index `i`).
    fn find_added(&mut self, i: usize, word: &str, named: FirstNamed) {
        let verb = matches!(word, "add" | "remove" | "drop" | "delete" | "decommission");
        let (count_index, sign) = if verb {
            (i + 1, if word == "add" { 1 } else { -1 })
        } else {
            (i, 1)
        };
        let Some(RelativeCount {
            count,
            sign,
            next,
            relative_word,
        }) = self.relative_count(count_index, sign)
        else {
            return;
        };
        if !(verb || relative_word) {
            return;
        }
        let head = match self.find_head(next) {
            Some(head) => head,
            // "and another", "one more please": what was named before it.
            None if relative_word && self.counts_nothing_named(next) => {
                // "a T4 VM for me and another for Bob": the second of a list, not a change.
                if word == "another" && count == 1 && self.read_another_item(i, next) {
                    return;
                }
                let by = sign * i64::from(count);
                match named.counted_before(i) {
                    Some(field) => self.push_added(i, count_index, next, next - 1, field, by),
                    None => self.refuse_uncounted_change(i, next - 1, by),
                }
                return;
            }
            None => return,
        };
        let (field, end) = match head {
            Head::Vm(end) => (CountField::Vms, end),
            Head::Gpu(end) => {
                let (per_vm, end) = self.per_vm_marker(count_index, end);
                let field = if per_vm {
                    CountField::GpusPerVm
                } else {
                    CountField::Gpus
                };
                (field, end)
            }
        };
        let change = Change::Add {
            field,
            by: sign * i64::from(count),
            absolute_if_new: word == "add" && !relative_word,
        };
        self.push_change(i, count_index, next, end, change);
    }

    /// A relative count with no noun after it ("and another", "one more please"), counting
    /// `field`: never a plain count, even after "add".
    fn push_added(
        &mut self,
        i: usize,
        count_index: usize,
        next: usize,
        end: usize,
        field: CountField,
        by: i64,
    ) {
        let change = Change::Add {
            field,
            by,
            absolute_if_new: false,
        };
        self.push_change(i, count_index, next, end, change);
    }

    /// Records `change`, written from `i` to `end`, and marks its words as used.
    fn push_change(
        &mut self,
        i: usize,
        count_index: usize,
        next: usize,
        end: usize,
        change: Change,
    ) {
        let written = self.written(i, end);
        self.mentions.changes.push(Mentioned::new(change, written));
        for role in &mut self.roles[i..=count_index] {
            *role = Role::Used;
        }
        if next > count_index + 1 {
            self.roles[next - 1] = Role::Used;
        }
    }

    /// The count at `count_index` ("2", "a", "another (2)") and a "more"/"fewer" after it,
    /// which may turn `sign` negative.
    fn relative_count(&self, count_index: usize, mut sign: i64) -> Option<RelativeCount> {
        let count_word = self.free_word(count_index)?;
        let (count, mut next) = match count_word {
            "another" => match self.free_word(count_index + 1).and_then(parse_count) {
                Some(n) => (n, count_index + 2),
                None => (1, count_index + 1),
            },
            "a" | "an" => (1, count_index + 1),
            other => (parse_count(other)?, count_index + 1),
        };
        let mut relative_word = count_word == "another";
        match self.word(next) {
            Some("more" | "extra" | "additional") => {
                relative_word = true;
                next += 1;
            }
            Some("fewer" | "less") => {
                relative_word = true;
                sign = -1;
                next += 1;
            }
            _ => {}
        }
        Some(RelativeCount {
            count,
            sign,
            next,
            relative_word,
        })
    }

    /// "zone b", "zone: c", "zone-b": a zone letter whose region comes from elsewhere.
    pub(super) fn find_zone_letters(&mut self) {
        for i in 0..self.tokens.len() {
            let Some(word) = self.free_word(i) else {
                continue;
            };
            let (letter, end) = if let Some(letter) = word.strip_prefix("zone-") {
                (letter.to_owned(), i)
            } else if word == "zone" {
                let Some(next) = self.free_word(i + 1) else {
                    continue;
                };
                (next.to_owned(), i + 1)
            } else {
                continue;
            };
            let mut chars = letter.chars();
            let (Some(letter), None) = (chars.next(), chars.next()) else {
                continue;
            };
            if !letter.is_ascii_lowercase()
                || self
                    .word(end + 1)
                    .is_some_and(|w| is_vm_noun(w) || is_gpu_noun(w))
            {
                continue;
            }
            let written = self.written(i, end);
            self.mentions
                .zone_letter
                .push(Mentioned::new(letter, written));
            for role in &mut self.roles[i..=end] {
                *role = Role::Used;
            }
        }
    }

    /// A range of counts at `i` ("3-5 VMs", "3 to 5 VMs", "between 3 and 5 VMs", "3 or 4
    /// VMs"): recorded as its lower bound (which keeps the cost down) with the upper bound.
    pub(super) fn find_range(&mut self, i: usize) -> bool {
        let Some(word) = self.free_word(i) else {
            return false;
        };
        // "from 2 to 4 VMs" is a change to 4, not a range: the first number is skipped.
        if i > 0
            && self.word(i - 1) == Some("from")
            && self.word(i + 1) == Some("to")
            && parse_count(word).is_some()
        {
            self.roles[i] = Role::Used;
            return true;
        }
        let dashed = if parse_count(word).is_none() {
            word.split_once('-')
                .and_then(|(a, b)| Some((parse_count(a)?, parse_count(b)?)))
        } else {
            None
        };
        let (low, high, last) = if let Some((a, b)) = dashed {
            (a, b, i)
        } else if let Some(a) = parse_count(word)
            && matches!(self.word(i + 1), Some("to" | "or"))
            && let Some(b) = self.free_word(i + 2).and_then(parse_count)
        {
            (a, b, i + 2)
        } else if let Some(a) = parse_count(word)
            && i > 0
            && self.word(i - 1) == Some("between")
            && self.word(i + 1) == Some("and")
            && let Some(b) = self.free_word(i + 2).and_then(parse_count)
        {
            (a, b, i + 2)
        } else {
            return false;
        };
        let Some(head) = self.find_head(last + 1) else {
            return false;
        };
        let (low, high) = (low.min(high), low.max(high));
        let start = if i > 0 && self.word(i - 1) == Some("between") {
            i - 1
        } else {
            i
        };
        let (kind, end) = match head {
            Head::Vm(end) => (CountKind::Vms, end),
            Head::Gpu(end) => match self.per_vm_marker(last, end) {
                (true, end) => (CountKind::PerVm, end),
                (false, end) => (CountKind::Total, end),
            },
        };
        let written = self.written(start, end);
        let mut mentioned = Mentioned::new(low, written.clone());
        if high > low {
            mentioned.upper = Some(high);
            mentioned.reading = Some(format!(
                "\"{written}\" is a range; planned with the lower bound, {low}, which keeps the cost down (anything up to {high} would match the request)"
            ));
        }
        self.mentions.push_count(kind, mentioned);
        for role in &mut self.roles[i..=last] {
            *role = Role::Used;
        }
        true
    }

    /// Records a count, reading "about 4", "at least 4" and "up to 4" before it as 4 and
    /// saying so.
    pub(super) fn push_qualified_count(
        &mut self,
        kind: CountKind,
        count: u32,
        start: usize,
        end: usize,
    ) {
        let before = |back: usize| start.checked_sub(back).and_then(|j| self.word(j));
        let (from, how) = match (before(2), before(1)) {
            (_, Some("about" | "around" | "approximately" | "approx" | "roughly" | "circa")) => {
                (start - 1, "an approximation, planned as exactly")
            }
            (Some("at"), Some("least")) => (start - 2, "a minimum, planned as exactly"),
            (_, Some("minimum" | "min")) => (start - 1, "a minimum, planned as exactly"),
            (Some("up"), Some("to")) | (Some("at"), Some("most")) => {
                (start - 2, "a maximum, planned as")
            }
            (_, Some("max" | "maximum")) => (start - 1, "a maximum, planned as"),
            _ => {
                let written = self.written(start, end);
                self.mentions
                    .push_count(kind, Mentioned::new(count, written));
                return;
            }
        };
        let written = self.written(from, end);
        let reading = format!("\"{written}\" is {how} {count}");
        self.mentions
            .push_count(kind, Mentioned::new(count, written).with_reading(reading));
    }

    /// The start of "upgrade to" / "increase it to" right before a GPU count at `start`
    /// (read as GPUs per VM), unless the phrase says "in total".
    pub(super) fn upgrade_to_before(&self, start: usize) -> Option<usize> {
        if start == 0 || self.word(start - 1) != Some("to") {
            return None;
        }
        let total_after = (start + 1..start + 6)
            .map_while(|j| self.word(j))
            .any(|w| matches!(w, "total" | "altogether" | "overall" | "across"));
        if total_after {
            return None;
        }
        (2..=3)
            .filter_map(|back| start.checked_sub(back))
            .find(|j| self.word(*j).is_some_and(is_change_verb))
    }
}

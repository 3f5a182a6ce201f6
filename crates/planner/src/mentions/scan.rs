//! The scanner behind `Mentions::extract`: walks the tokens of one text and records every
//! value the user stated explicitly. Order matters: GPU names first (so "a100 80gb" is not
//! read as an 80 GB disk), then single-token names, disk sizes, GPU-like names the catalog
//! does not know (so "RTX 4090" is not 4090 of anything), and counts last.

use std::sync::LazyLock;

use promptops_core::{Catalog, ValidationError};
use regex::Regex;

use super::names::{self, Name};
use super::tokens::{self, Token, parse_count, split_number_suffix, tokenize};
use super::{CountKind, Mentioned, Mentions};

mod as_written;
mod bare_counts;
mod bare_relative;
mod context;
mod counts;
mod excluded;
mod gpu_index;
mod labels;
mod lines;
mod listed;
mod memory;
mod numbers;
mod past_use;
mod people_each;
mod phrases;
mod preferred;
mod superlative;
mod unknown;
mod vm_roles;
mod words;

use gpu_index::{GpuIndex, alias_keys};
pub(super) use words::is_vm_noun;
use words::{disk_gb, is_disk_word, is_filler, is_gpu_noun, is_memory_word};

/// How many words a count may be separated from its noun by ("5 nvidia t4 gpus").
const HEAD_WINDOW: usize = 5;

#[derive(Debug, Clone, PartialEq)]
enum Role {
    Free,
    Gpu,
    Name(Name),
    Used,
}

/// Where a count's noun was found.
#[derive(Clone, Copy)]
enum Head {
    Vm(usize),
    Gpu(usize),
}

// Text that states nothing about the deployment: HTML comments (issue templates put their
// examples there) and URLs (paths can look like GPU names or counts).
static NOT_REQUEST_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?s)<!--.*?-->|\bhttps?://\S+").expect("comment and URL pattern")
});

// A checklist's options: when one is ticked ("- [x] L4"), the unticked ones ("- [ ] A100")
// are not asked for. A list with none ticked is a to-do list, and is read as written.
static TICKED_OPTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^[ \t]*(?:[-*+]|\d+[.)])[ \t]+\[[xX]\]").expect("ticked option pattern")
});
static UNTICKED_OPTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^[ \t]*(?:[-*+]|\d+[.)])[ \t]+\[ \].*$").expect("unticked option pattern")
});

// "US" in capitals is the country, "us" the pronoun: the capital form is rewritten to a
// spelling of the area before the text is lower-cased (not in all-capital text, nor in
// "US-EAST1" or "US$").
static US_IN_CAPITALS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\bUSA?\b([-$])?").expect("US pattern"));

/// The text without what states nothing about the deployment (HTML comments, URLs, code
/// blocks that hold no configuration, unticked options).
pub(crate) fn request_text(text: &str) -> std::borrow::Cow<'_, str> {
    request_text_and_unread_blocks(text).0
}

/// `request_text`, and how many code blocks it left out (for the plan's note).
pub(super) fn request_text_and_unread_blocks(text: &str) -> (std::borrow::Cow<'_, str>, usize) {
    let (text, unread_blocks) = super::code_blocks::without_unread(text);
    let text = match NOT_REQUEST_TEXT.replace_all(&text, " ") {
        std::borrow::Cow::Borrowed(_) => text,
        std::borrow::Cow::Owned(replaced) => std::borrow::Cow::Owned(replaced),
    };
    if !TICKED_OPTION.is_match(&text) {
        return (text, unread_blocks);
    }
    let text = UNTICKED_OPTION.replace_all(&text, " ").into_owned();
    (std::borrow::Cow::Owned(text), unread_blocks)
}

pub(super) fn scan(text: &str, catalog: &Catalog) -> (Mentions, Vec<ValidationError>) {
    let request = request_text(text);
    let normalised = super::normalise::normalise(&request);
    let (names, name_errors, text) = super::deployment_name::find(&normalised.text);
    let (text, reference_readings) = super::references::rewrite(&text, catalog);
    let model_memory = super::needs::model_memory(&text);
    let (budget, unread_budgets) = super::budget::find(&text);
    let (machine_size, other_machines) = super::machine_size::find(&text);
    let biggest = super::needs::biggest(&text);
    let fewest_vms = super::needs::fewest_vms(&text);
    let text = us_in_capitals(promptops_core::fold_accents(&text));
    let tokens = tokenize(&text);
    let roles = vec![Role::Free; tokens.len()];
    let mut scanner = Scanner {
        lines: lines::Lines::new(&tokens),
        tokens,
        roles,
        catalog,
        gpu_index: GpuIndex::new(catalog),
        gpu_spans: Vec::new(),
        request: &request,
        as_written: as_written::Lazy::new(),
        share_without_people: None,
        mentions: Mentions {
            name: names,
            notices: normalised
                .readings
                .into_iter()
                .chain(reference_readings)
                .chain(unread_budgets)
                .chain(other_machines)
                .collect(),
            budget,
            machine_size,
            model_memory: model_memory.into_iter().collect(),
            biggest: biggest.into_iter().collect(),
            fewest_vms: fewest_vms.into_iter().collect(),
            ..Mentions::default()
        },
        errors: normalised.errors.into_iter().chain(name_errors).collect(),
    };
    scanner.read();
    // With no place read, a place the catalog does not know is named ("near Seattle").
    let mentions = &mut scanner.mentions;
    if mentions.region.is_empty() && mentions.zone.is_empty() && mentions.area.is_empty() {
        let notes = super::unknown_places::notes(&request, catalog);
        mentions.notices.extend(notes);
    }
    (scanner.mentions, scanner.errors)
}

impl Scanner<'_> {
    /// Reads every value in turn; the order matters (see the module's comment and each
    /// step's own).
    fn read(&mut self) {
        self.find_gpu_names();
        // Before anything is read from them: "I tried 1 T4, it was too slow" asks for no T4.
        self.set_aside_past_use();
        // Before the names and places: "anywhere except Europe" does not ask for Europe.
        self.find_excluded_places();
        self.find_names();
        self.find_places();
        self.find_disks();
        self.find_decimal_disks();
        self.find_labelled_disks();
        // After disks ("200GB disk" is a disk), before the GPU names are recorded ("A100 with
        // 80GB" names the 80 GB A100).
        self.find_gpu_memory();
        self.push_gpu_spans();
        self.drop_comparison_gpus();
        self.find_cheapest();
        // After the GPU names and needs: "the fastest GPU" is refused only when no GPU is named.
        self.refuse_ranked_gpu();
        // Before counts, so that the "4090" of "RTX 4090" is a model name, not a count.
        self.find_unknown_gpus();
        // Before counts, so that no digit of "2.5 T4" or "1e3 VMs" is read as a count.
        self.find_unwhole_counts();
        self.refuse_halves();
        // Before counts: "add 2 VMs" is not a request for 2 VMs, "5 users each with a VM" not 1.
        self.find_relative();
        self.find_zone_letters();
        // Before counts: "1 master and 3 workers" is not a count of 3 VMs.
        self.find_vm_roles();
        // Before counts: each item of "a T4 VM for me and one for Bob" is not a count alone.
        self.find_listed_vms();
        self.find_people_each();
        self.find_oversized_numbers();
        self.find_vague_quantities();
        self.find_counts();
        // After counts: only a count that was not read falls to its default.
        self.refuse_unread_people();
        self.read_share_without_people();
        self.refuse_counts_cut_off();
        self.refuse_unread_labelled_counts();
        self.refuse_bare_counts();
        self.refuse_zero_counts();
        self.note_unread_sizes();
    }
}

/// "US" in capitals spelled as the area, so that lower case does not make it the pronoun.
fn us_in_capitals(text: String) -> String {
    if !text.chars().any(|c| c.is_lowercase()) {
        return text;
    }
    US_IN_CAPITALS
        .replace_all(&text, |caps: &regex::Captures| {
            let start = caps.get(0).map_or(0, |m| m.start());
            let tail: String = text[..start].chars().rev().take(4).collect();
            let after_the = tail.eq_ignore_ascii_case(" eht");
            match caps.get(1) {
                // "the US" is matched as written; a dash or "$" makes it something else.
                Some(_) => caps[0].to_owned(),
                None if after_the => caps[0].to_owned(),
                // "the US", not "U.S.": its period would end the sentence before "East
                // Coast".
                None => "the US".to_owned(),
            }
        })
        .into_owned()
}

struct Scanner<'a> {
    tokens: Vec<Token>,
    /// Each token's line, for the labels' lookups.
    lines: lines::Lines,
    roles: Vec<Role>,
    catalog: &'a Catalog,
    gpu_index: GpuIndex<'a>,
    /// GPU names found, recorded after memory qualifiers are read.
    gpu_spans: Vec<GpuSpan>,
    /// The request as written (HTML comments and URLs aside), for quotes.
    request: &'a str,
    as_written: as_written::Lazy<'a>,
    mentions: Mentions,
    errors: Vec<ValidationError>,
    /// What each person gets ("one T4 per developer") when the request counts no people:
    /// found before the counts, read after them.
    share_without_people: Option<people_each::PersonShare>,
}

/// A GPU name in the text: tokens `start..=end`, the catalog id it names, and what a memory
/// qualifier next to it changed ("A100 with 80GB").
struct GpuSpan {
    start: usize,
    end: usize,
    id: String,
    qualified: Option<(String, String, String)>,
}

impl Scanner<'_> {
    fn word(&self, index: usize) -> Option<&str> {
        self.tokens.get(index).and_then(Token::word)
    }

    fn free_word(&self, index: usize) -> Option<&str> {
        match self.roles.get(index) {
            Some(Role::Free) => self.word(index),
            _ => None,
        }
    }

    fn written(&self, from: usize, to: usize) -> String {
        (from..=to)
            .filter_map(|i| self.word(i))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// GPU names of up to four words ("nvidia tesla t4", "a100 80gb", "t4s"), longest first.
    fn find_gpu_names(&mut self) {
        let mut i = 0;
        while i < self.tokens.len() {
            let mut matched = 0;
            for len in (1..=4).rev() {
                let words: Option<Vec<&str>> = (i..i + len).map(|j| self.free_word(j)).collect();
                let Some(words) = words else { continue };
                if let Some(id) = self.gpu_alias(&words) {
                    self.gpu_spans.push(GpuSpan {
                        start: i,
                        end: i + len - 1,
                        id,
                        qualified: None,
                    });
                    matched = len;
                    break;
                }
            }
            if matched > 0 {
                for role in &mut self.roles[i..i + matched] {
                    *role = Role::Gpu;
                }
                i += matched;
            } else {
                i += 1;
            }
        }
    }

    fn gpu_alias(&self, words: &[&str]) -> Option<String> {
        let joined = words.join(" ");
        // Plurals: "t4s", "a100s".
        let singular = joined.strip_suffix('s');
        [Some(joined.as_str()), singular]
            .into_iter()
            .flatten()
            .find_map(|candidate| self.gpu_index.lookup(candidate))
            .map(str::to_owned)
    }

    /// Regions, zones and machine types, and anything shaped like one that is unknown.
    fn find_names(&mut self) {
        for i in 0..self.tokens.len() {
            let Some(word) = self.free_word(i) else {
                continue;
            };
            match names::classify(word, self.catalog) {
                Ok(Some(name)) => {
                    let written = word.to_owned();
                    // "europe-west-4" names europe-west4: the plan says how it was read.
                    let reading = |value: &str| format!("\"{written}\" read as {value}");
                    match &name {
                        Name::Region(region) if *region != written => {
                            let reading = reading(&format!("region {region}"));
                            self.mentions.push_region_read(
                                Mentioned::new(region.clone(), written).with_reading(reading),
                            );
                        }
                        Name::Zone(zone) if *zone != written => {
                            let reading = reading(&format!("zone {zone}"));
                            self.mentions.push_zone_read(
                                Mentioned::new(zone.clone(), written).with_reading(reading),
                            );
                        }
                        Name::Region(region) => self.mentions.push_region(region.clone(), written),
                        Name::Zone(zone) => self.mentions.push_zone(zone.clone(), written),
                        Name::MachineType(machine) => {
                            self.mentions.push_machine_type(machine.clone(), written)
                        }
                    }
                    self.roles[i] = Role::Name(name);
                }
                Ok(None) => {}
                Err(error) => {
                    self.errors.push(error);
                    self.roles[i] = Role::Used;
                }
            }
        }
    }

    /// "200GB disk", "500 GB boot disk", "boot disk of 1 TB", "disk size 100gb".
    fn find_disks(&mut self) {
        for i in 0..self.tokens.len() {
            let Some(word) = self.free_word(i) else {
                continue;
            };
            let (number, unit, unit_index) = match split_number_suffix(word) {
                Some((number, unit)) => (number, unit.to_owned(), i),
                None => {
                    let Some(number) = word.parse::<u32>().ok().filter(|_| word.len() <= 9) else {
                        continue;
                    };
                    let Some(unit) = self.free_word(i + 1) else {
                        continue;
                    };
                    (number, unit.to_owned(), i + 1)
                }
            };
            let Some(gb) = disk_gb(number, &unit) else {
                continue;
            };
            let Some(end) = self.disk_phrase_end(i, unit_index) else {
                continue;
            };
            let written = self.written(i, end);
            self.mentions.push_disk(gb, written);
            for role in &mut self.roles[i..=unit_index] {
                *role = Role::Used;
            }
        }
    }

    /// Where the phrase of a size at `i..=unit_index` ends when a disk word stands near it
    /// ("200 GB boot disk", "disk of 200 GB"); `None` for a memory ("24GB VRAM") or a size
    /// of nothing said.
    fn disk_phrase_end(&self, i: usize, unit_index: usize) -> Option<usize> {
        let after: Vec<&str> = (unit_index + 1..unit_index + 4)
            .map_while(|j| self.word(j))
            .collect();
        if after.iter().any(|w| is_memory_word(w)) {
            return None;
        }
        let disk_after = after.iter().rposition(|w| is_disk_word(w));
        let disk_before = (1..=4)
            .map_while(|back| i.checked_sub(back).and_then(|j| self.word(j)))
            .any(is_disk_word);
        match disk_after {
            Some(offset) => Some(unit_index + 1 + offset),
            None => disk_before.then_some(unit_index),
        }
    }

    /// Disk sizes written with a decimal point ("a 0.5TB disk", "1.5 TB of storage"):
    /// read in whole GB, or refused when they come to no whole number of GB ("20.5 GB
    /// disk"). Before, the size was dropped for the default.
    fn find_decimal_disks(&mut self) {
        for i in 0..self.tokens.len() {
            let Some(word) = self.free_word(i) else {
                continue;
            };
            let (number, unit, unit_index) = match words::split_decimal_size(word) {
                Some((number, unit)) => (number, unit, i),
                None => match self.free_word(i + 1) {
                    Some(unit) => (word, unit, i + 1),
                    None => continue,
                },
            };
            let Some(size) = words::decimal_disk_gb(number, unit) else {
                continue;
            };
            let Some(end) = self.disk_phrase_end(i, unit_index) else {
                continue;
            };
            let written = self.quoted(i, end);
            match size {
                Some(gb) => {
                    let reading = format!("\"{written}\" read as {gb} GB");
                    self.mentions
                        .push_disk_read(Mentioned::new(gb, written).with_reading(reading));
                }
                None => self.errors.push(ValidationError::new(
                    "boot_disk_size_gb",
                    &written,
                    format!("\"{written}\" is no whole number of GB; a disk is sized in whole GB"),
                )),
            }
            for role in &mut self.roles[i..=unit_index] {
                *role = Role::Used;
            }
        }
    }

    /// A count word at `index`: digits or number words; "a"/"an" count as one unless a count
    /// word follows ("a dozen", "a couple of").
    fn count_word(&self, index: usize) -> Option<u32> {
        let word = self.free_word(index)?;
        // "both VMs" is 2 of them; "both T4 and L4" is no count of T4s.
        if word == "both" {
            return self.word(index + 1).is_some_and(is_vm_noun).then_some(2);
        }
        if matches!(word, "a" | "an") {
            let next = self.word(index + 1)?;
            return if parse_count(next).is_some() {
                None
            } else {
                Some(1)
            };
        }
        let count = parse_count(word)?;
        // "half a dozen".
        if word == "dozen"
            && index >= 2
            && self.word(index - 1) == Some("a")
            && self.word(index - 2) == Some("half")
        {
            return Some(6);
        }
        // "a couple of", "two dozen": the multiplier word carries the count.
        if matches!(word, "couple" | "pair" | "dozen")
            && index > 0
            && let Some(previous) = self.word(index - 1).and_then(parse_count)
            && !matches!(self.word(index - 1), Some("a" | "an"))
        {
            return Some(previous * count);
        }
        Some(count)
    }

    /// Whether "per", "each" or "every" follows the noun at `end` within its clause
    /// ("a VM per team", "a VM for each user").
    fn distributive_after(&self, end: usize) -> bool {
        (end + 1..end + 4)
            .map_while(|j| self.word(j))
            .any(|w| matches!(w, "per" | "each" | "every"))
    }

    /// Whether the word before `index` ends a GPU count phrase ("2 GPUs a VM").
    fn follows_gpu_count(&self, index: usize) -> bool {
        index
            .checked_sub(1)
            .and_then(|i| self.word(i))
            .is_some_and(|w| is_gpu_noun(w) || matches!(w, "per" | "each" | "every"))
            || (index > 0 && self.roles[index - 1] == Role::Gpu)
    }

    /// The noun a count belongs to, skipping GPU names, machine types and filler adjectives.
    fn find_head(&self, start: usize) -> Option<Head> {
        let mut last_gpu = None;
        let mut last_machine = None;
        for j in start..start + HEAD_WINDOW {
            let Some(word) = self.word(j) else { break };
            match &self.roles[j] {
                Role::Gpu => {
                    last_gpu = Some(j);
                    continue;
                }
                Role::Name(Name::MachineType(_)) => {
                    last_machine = Some(j);
                    continue;
                }
                _ => {}
            }
            if is_vm_noun(word) {
                return Some(Head::Vm(j));
            }
            if is_gpu_noun(word) {
                // "4 GPU T4 VM": the singular noun is an adjective, past the GPU's name.
                let mut k = j + 1;
                while word == "gpu" && self.roles.get(k) == Some(&Role::Gpu) {
                    k += 1;
                }
                return match self.word(k) {
                    Some(next) if is_vm_noun(next) => Some(Head::Vm(k)),
                    _ => Some(Head::Gpu(j)),
                };
            }
            if is_filler(word) || word.ends_with("-gpu") || word.ends_with("-gpus") {
                continue;
            }
            break;
        }
        // "3 x n1-standard-8 with 1 T4": a machine type counts VMs.
        last_machine.map(Head::Vm).or(last_gpu.map(Head::Gpu))
    }

    /// Whether the GPU count at `count_index` (noun at `noun_index`) is per VM: "2 GPUs
    /// each", "2 GPUs per VM", "each with 2 GPUs", "4 VMs with 2 GPUs", "4 VMs x 2 GPUs",
    /// "4 nodes of 8 A100";
    /// not when the phrase says "in total".
    /// Returns the index of the last word of the phrase.
    fn per_vm_marker(&self, count_index: usize, noun_index: usize) -> (bool, usize) {
        let mut j = noun_index + 1;
        while j <= noun_index + 4 {
            let Some(word) = self.word(j) else { break };
            // "4 GPUs with 24GB each": the "each" belongs to the memory size.
            if self.roles[j] == Role::Used
                && split_number_suffix(word)
                    .is_some_and(|(_, unit)| matches!(unit, "gb" | "g" | "gib"))
            {
                break;
            }
            if matches!(word, "each" | "apiece") {
                return (true, j);
            }
            // "4 T4 GPUs: 2 per VM": a number of its own starts another count, whose "per
            // VM" it is (the colon is no token).
            if word.bytes().all(|b| b.is_ascii_digit()) {
                break;
            }
            if matches!(word, "per" | "a" | "every")
                && let Some(next) = self.word(j + 1)
                && is_vm_noun(next)
            {
                return (true, j + 1);
            }
            if matches!(word, "per-vm" | "per-machine" | "per-instance" | "per-node") {
                return (true, j);
            }
            // "2 VMs with 8 GPUs in total": the phrase's own word for a total wins over the
            // VMs before it.
            if matches!(word, "total" | "altogether" | "overall" | "combined") {
                return (false, noun_index);
            }
            if matches!(word, "across" | "over") {
                break;
            }
            j += 1;
        }
        let before = |back: usize| count_index.checked_sub(back).and_then(|i| self.word(i));
        // "4 VMs with 2 GPUs", "each with 2 GPUs", "n1-standard-8 with 2 T4s".
        let machine_before = count_index >= 2
            && matches!(
                self.roles[count_index - 2],
                Role::Name(Name::MachineType(_))
            );
        let joined_to_vms =
            matches!(
                before(1),
                Some("with" | "having" | "x" | "and" | "has" | "of")
            ) && (before(2).is_some_and(is_vm_noun) || before(2) == Some("each") || machine_before);
        // "each with 2", "each should have 1 GPU" (within the clause).
        // "both with 2 T4" after "2 VMs" is each of them too.
        let each_before = (1..=4)
            .map_while(before)
            .any(|w| matches!(w, "each" | "both"));
        let per_vm_before = before(2) == Some("per") && before(1).is_some_and(is_vm_noun);
        (joined_to_vms || each_before || per_vm_before, noun_index)
    }
}

//! Words around values that change what they mean: GPUs named for comparison ("compared to
//! A100, T4 is enough") or ruled out ("anything but A100"), a choice among named GPUs ("the cheaper of V100 and T4"), vague
//! quantities ("a few VMs", read as a stated number; "some GPUs", which says no number), and
//! numbers too large to be a count at all ("4294967297 VMs").

use promptops_core::{Catalog, ValidationError};

use super::{Head, Role, Scanner, is_gpu_noun, is_vm_noun, split_number_suffix};
use crate::mentions::{CountKind, Mentioned};

/// Digits beyond this many cannot be any count or size this planner could accept.
const MAX_NUMBER_DIGITS: usize = 9;

/// Words right before a GPU name that make it a comparison or context, not the request.
fn is_comparison_lead(previous: &[&str]) -> bool {
    matches!(
        previous,
        [.., "compared", "to" | "with"]
            | [.., "similar", "to"]
            | [.., "instead", "of"]
            | [.., "rather", "than"]
            | [.., "equivalent", "to"]
            | [.., "comparable", "to"]
            | [
                ..,
                "from" | "not" | "than" | "vs" | "versus" | "unlike" | "replace" | "replacing",
            ]
    ) || is_exclusion_lead(previous)
}

/// Words right before a GPU name that rule it out: "anything but A100", "no A100 please",
/// "any GPU except the A100", "without A100s". Before, the GPU ruled out was planned.
fn is_exclusion_lead(previous: &[&str]) -> bool {
    matches!(
        previous,
        [.., "anything" | "any" | "everything", "but"]
            | [.., "other", "than"]
            | [.., "but", "not"]
            | [
                ..,
                "no" | "except" | "excluding" | "without" | "avoid" | "avoiding" | "exclude"
            ]
    )
}

/// Words right before a GPU name that say it is not the one wanted: "more memory than a
/// T4", "instead of an A100", "not a V100". ("Similar to a T4" asks for one like it.)
fn is_contrast_lead(previous: &[&str]) -> bool {
    matches!(
        previous,
        [.., "instead", "of"]
            | [.., "rather", "than"]
            | [
                ..,
                "than" | "unlike" | "not" | "vs" | "versus" | "replace" | "replacing"
            ]
    ) || is_exclusion_lead(previous)
}

/// Words right after a GPU name that make it context ("A100 is overkill").
fn is_rejection_after(next: &[&str]) -> bool {
    matches!(
        next,
        [
            "is" | "are" | "would" | "seems" | "seem",
            "overkill" | "too" | "be" | "not",
            ..
        ]
    )
}

/// Which GPU a choice among named GPUs takes.
enum Choice {
    Cheapest,
    Largest,
}

impl Scanner<'_> {
    /// Keeps only the GPU the request asks for when it names others for comparison, or picks
    /// from several named GPUs when it says how ("the cheaper of V100 and T4").
    pub(super) fn drop_comparison_gpus(&mut self) {
        if self.mentions.gpu_type.len() == 1 {
            self.refuse_only_gpu_in_contrast();
            return;
        }
        if self.mentions.gpu_type.len() < 2 {
            return;
        }
        if let Some(choice) = self.choice_among_gpus() {
            self.keep_chosen_gpu(&choice);
            return;
        }
        if self.keep_preferred_gpu() {
            return;
        }
        // "benchmark T4 vs L4: one VM of each" asks for both, which one deployment cannot
        // hold: refused on either planner (a model would settle it on one of them).
        if self.asks_for_each_named() {
            let named: Vec<&str> = self
                .mentions
                .gpu_type
                .iter()
                .map(|m| m.written.as_str())
                .collect();
            let named = named.join(" and ");
            let message = format!(
                "\"of each\" asks for {named} at once; a deployment has one GPU type: ask for each in a request of its own"
            );
            let error = ValidationError::new("gpu_type", &named, message);
            self.mentions.unclear.push(error);
            return;
        }
        let mut context = Vec::new();
        for span in &self.gpu_spans {
            // "similar to our old P100": possessives and adjectives between lead and name.
            let previous: Vec<&str> = (span.start.saturating_sub(5)..span.start)
                .filter_map(|j| self.word(j))
                .filter(|w| {
                    !matches!(
                        *w,
                        "our"
                            | "my"
                            | "the"
                            | "a"
                            | "an"
                            | "old"
                            | "current"
                            | "existing"
                            | "their"
                    )
                })
                .collect();
            let next: Vec<&str> = (span.end + 1..span.end + 4)
                .map_while(|j| self.word(j))
                .collect();
            // "T4 to L4" (and "T4 -> L4"): the GPU changed from.
            let changed_from = self.word(span.end + 1) == Some("to")
                && self.roles.get(span.end + 2) == Some(&Role::Gpu);
            if is_comparison_lead(&previous) || is_rejection_after(&next) || changed_from {
                context.push(self.written(span.start, span.end));
            }
        }
        let (dropped, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.mentions.gpu_type)
            .into_iter()
            .partition(|m| context.contains(&m.written));
        if kept.is_empty() {
            self.mentions.gpu_type = dropped;
            return;
        }
        self.mentions.gpu_type = kept;
        for gpu in dropped {
            self.mentions.notices.push(format!(
                "\"{}\" is named for comparison, not as the GPU to plan",
                gpu.written
            ));
        }
    }

    /// The only GPU named is named as the one not wanted ("a GPU with more memory than a
    /// T4", "A100 is overkill"): it was planned. Refused on either planner, with what to
    /// write.
    fn refuse_only_gpu_in_contrast(&mut self) {
        let Some(span) = self.gpu_spans.first() else {
            return;
        };
        let previous: Vec<&str> = (span.start.saturating_sub(3)..span.start)
            .filter_map(|j| self.word(j))
            .filter(|w| !matches!(*w, "a" | "an" | "the" | "our" | "my" | "current" | "old"))
            .collect();
        let next: Vec<&str> = (span.end + 1..span.end + 4)
            .map_while(|j| self.word(j))
            .collect();
        if !(is_contrast_lead(&previous) || is_rejection_after(&next)) {
            return;
        }
        let written = self.written(span.start, span.end);
        let message = format!(
            "\"{written}\" is named as the GPU not wanted, and no other is named; name the GPU to plan (e.g. \"2 L4 VMs\") or what it needs (\"a GPU with at least 24GB\")"
        );
        let error = ValidationError::new("gpu_type", &written, message);
        self.mentions.unclear.push(error);
    }

    /// "one VM of each", "one of each": every GPU named is asked for. ("Each of them" and
    /// "both" say as often what the VMs share.)
    fn asks_for_each_named(&self) -> bool {
        (1..self.tokens.len())
            .any(|i| self.word(i - 1) == Some("of") && self.word(i) == Some("each"))
    }

    fn choice_among_gpus(&self) -> Option<Choice> {
        let words: Vec<&str> = (0..self.tokens.len())
            .filter_map(|i| self.word(i))
            .collect();
        words.windows(2).find_map(|pair| match pair {
            [
                "cheaper" | "cheapest" | "less-expensive",
                "of" | "one" | "option",
            ]
            | ["whichever", "is"]
                if words.iter().any(|w| matches!(*w, "cheaper" | "cheapest")) =>
            {
                Some(Choice::Cheapest)
            }
            ["cheaper" | "cheapest", "of"] => Some(Choice::Cheapest),
            [
                "faster" | "fastest" | "bigger" | "biggest" | "larger" | "largest",
                "of",
            ] => Some(Choice::Largest),
            _ => None,
        })
    }

    fn keep_chosen_gpu(&mut self, choice: &Choice) {
        let catalog: &Catalog = self.catalog;
        let price = |id: &str| catalog.gpu(id).map_or(f64::MAX, |g| g.usd_per_gpu_hour);
        let named = std::mem::take(&mut self.mentions.gpu_type);
        let chosen = match choice {
            Choice::Cheapest => named
                .iter()
                .min_by(|a, b| price(&a.value).total_cmp(&price(&b.value))),
            Choice::Largest => named
                .iter()
                .max_by(|a, b| price(&a.value).total_cmp(&price(&b.value))),
        };
        let Some(chosen) = chosen.cloned() else {
            return;
        };
        let how = match choice {
            Choice::Cheapest => "the cheaper per GPU-hour",
            Choice::Largest => "the larger (and dearer per GPU-hour)",
        };
        let names: Vec<String> = named.iter().map(|m| format!("\"{}\"", m.written)).collect();
        let reading = format!(
            "of {} the request asks for {how}: {}",
            names.join(" and "),
            chosen.value
        );
        self.mentions.gpu_type = vec![chosen.with_reading(reading)];
    }

    /// "a couple of VMs" (2), "a few GPUs" (3), "several VMs" (3), "a handful of VMs" (5),
    /// each stated as a reading; "some GPUs", "many VMs" are recorded as saying no number.
    pub(super) fn find_vague_quantities(&mut self) {
        for i in 0..self.tokens.len() {
            let Some(word) = self.free_word(i) else {
                continue;
            };
            let next = self.word(i + 1);
            let (count, phrase_end) = match (word, next) {
                ("a", Some("couple")) => (Some(2), i + 1),
                ("a", Some("few")) => (Some(3), i + 1),
                ("a", Some("handful")) => (Some(5), i + 1),
                ("several", _) => (Some(3), i),
                ("some" | "many" | "multiple" | "numerous", _) => (None, i),
                ("lots" | "bunch", Some("of")) => (None, i),
                _ => continue,
            };
            let mut head_start = phrase_end + 1;
            if self.word(head_start) == Some("of") {
                head_start += 1;
            }
            let Some(head) = self.find_head(head_start) else {
                continue;
            };
            let (kind, end) = match head {
                Head::Vm(end) => (CountKind::Vms, end),
                Head::Gpu(end) => match self.per_vm_marker(phrase_end, end) {
                    (true, end) => (CountKind::PerVm, end),
                    (false, end) => (CountKind::Total, end),
                },
            };
            let written = self.written(i, end);
            match count {
                Some(count) => {
                    let reading = format!(
                        "\"{written}\" is a vague quantity, read as {count}; write the exact number to change it"
                    );
                    self.mentions
                        .push_count(kind, Mentioned::new(count, written).with_reading(reading));
                }
                None => self.mentions.unquantified.push(written),
            }
            for role in &mut self.roles[i..=phrase_end] {
                *role = Role::Used;
            }
        }
    }

    /// Numbers with more digits than any count or size could have, next to a VM, GPU or disk
    /// word or a `key = value` form: refused, never shortened or wrapped around.
    pub(super) fn find_oversized_numbers(&mut self) {
        for i in 0..self.tokens.len() {
            let Some(word) = self.free_word(i) else {
                continue;
            };
            let digits = word.bytes().take_while(u8::is_ascii_digit).count();
            if digits <= MAX_NUMBER_DIGITS {
                continue;
            }
            let glued = split_number_suffix(word)
                .map(|(_, unit)| unit)
                .or((digits == word.len()).then_some(""));
            let Some(glued) = glued else { continue };
            let near = [
                Some(glued),
                self.word(i + 1),
                self.word(i + 2),
                i.checked_sub(1).and_then(|j| self.word(j)),
            ];
            let counted = near.iter().flatten().any(|w| {
                is_vm_noun(w)
                    || is_gpu_noun(w)
                    || self.roles.get(i + 1) == Some(&Role::Gpu)
                    || matches!(
                        *w,
                        "gb" | "tb" | "disk" | "vm_count" | "gpu_count" | "boot_disk_size_gb"
                    )
            });
            if !counted {
                continue;
            }
            let number = &word[..digits];
            self.errors.push(ValidationError::new(
                "count",
                number,
                format!(
                    "{number} is far too large to be a count or a disk size; write the number you need"
                ),
            ));
            self.roles[i] = Role::Used;
        }
    }
}

//! Numbers where a count stands that are no count: fractions ("2.5 T4", "½ A100", "3 VMs
//! with 0.5 T4 each", "A100 x 1.5", "half a GPU"), scientific notation ("1e3 VMs") and
//! zero ("0 T4").
//! Each is refused quoting its words (fractions and exponents as they were written: "½
//! A100", not "1/2 a100"); none is rounded, read in part or replaced by a default, which
//! would plan something the request did not ask for.

use promptops_core::ValidationError;

use super::{Name, Role, Scanner, Token};
use crate::mentions::Mentioned;

/// How a number that is not a whole count was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NotWhole {
    /// "2.5", ".5", "1/2" (also "½", written out by the normaliser).
    Fraction,
    /// "1e3", "1.5e+2".
    Exponent,
    /// "50%": a share of something unsaid.
    Percent,
}

impl NotWhole {
    /// The shape of `word`, a multiplier's "x" aside ("1.5x", "x1.5").
    fn of(word: &str) -> Option<NotWhole> {
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if word.strip_suffix('%').is_some_and(digits) {
            return Some(NotWhole::Percent);
        }
        let word = word.strip_suffix('x').unwrap_or(word);
        let word = word.strip_prefix('x').unwrap_or(word);
        let decimal = |s: &str| match s.split_once('.') {
            Some((whole, part)) => (whole.is_empty() || digits(whole)) && digits(part),
            None => digits(s),
        };
        if let Some((mantissa, exponent)) = word.split_once('e') {
            let exponent = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
            return (decimal(mantissa) && digits(exponent)).then_some(NotWhole::Exponent);
        }
        // "24/7" is a schedule (listed as not used by the screening), not a fraction.
        let fraction = word
            .split_once('/')
            .is_some_and(|(top, bottom)| digits(top) && digits(bottom) && word != "24/7");
        (fraction || (word.contains('.') && decimal(word))).then_some(NotWhole::Fraction)
    }

    fn message(self, written: &str) -> String {
        match self {
            NotWhole::Fraction => format!(
                "\"{written}\" is not a whole number; VMs and GPUs are counted in whole units"
            ),
            NotWhole::Exponent => format!(
                "\"{written}\" is not a count PromptOps reads; write the number of VMs or GPUs in plain digits"
            ),
            NotWhole::Percent => format!(
                "\"{written}\" is a share, not a count; write the number of VMs or GPUs you want"
            ),
        }
    }
}

impl Scanner<'_> {
    /// Refuses numbers that are not whole where they count VMs or GPUs: before a VM or GPU
    /// noun or name, or as a multiplier after a GPU name or machine type ("A100 x 1.5").
    pub(super) fn find_unwhole_counts(&mut self) {
        for i in 0..self.tokens.len() {
            let Some(shape) = self.free_word(i).and_then(NotWhole::of) else {
                continue;
            };
            // "2 1/2 A100" (from "2½"): the whole part belongs to the words refused.
            let whole_before = i >= 1
                && self.free_word(i).is_some_and(|w| w.contains('/'))
                && self
                    .free_word(i - 1)
                    .is_some_and(|w| w.bytes().all(|b| b.is_ascii_digit()));
            let start = i - usize::from(whole_before);
            // "50% more VMs": the share's own words stand between it and the noun.
            let mut after = i + 1;
            while shape == NotWhole::Percent
                && self.word(after).is_some_and(|w| {
                    matches!(w, "more" | "fewer" | "less" | "extra" | "additional")
                })
            {
                after += 1;
            }
            let (from, end) = match self.find_head(after) {
                Some(super::Head::Vm(end) | super::Head::Gpu(end)) => (start, end),
                None => match self.multiplied_name(i) {
                    Some(name) => (name, i),
                    None => continue,
                },
            };
            let written = self.quoted(from, end);
            self.errors.push(ValidationError::new(
                "count",
                &written,
                shape.message(&written),
            ));
            for role in &mut self.roles[start..=i] {
                *role = Role::Used;
            }
        }
    }

    /// Refuses "half a GPU", "half an A100 VM": half of one is no count either, and
    /// reading the "a" as 1 would plan twice what was asked for. ("half a dozen" is 6, read
    /// with the other counts.)
    pub(super) fn refuse_halves(&mut self) {
        for i in 0..self.tokens.len() {
            if self.free_word(i) != Some("half") || !matches!(self.word(i + 1), Some("a" | "an")) {
                continue;
            }
            let Some(super::Head::Vm(end) | super::Head::Gpu(end)) = self.find_head(i + 2) else {
                continue;
            };
            let written = self.quoted(i, end);
            self.errors.push(ValidationError::new(
                "count",
                &written,
                NotWhole::Fraction.message(&written),
            ));
            for role in &mut self.roles[i..=i + 1] {
                *role = Role::Used;
            }
        }
    }

    /// Refuses a number that ends a line or clause right before one that starts with a GPU
    /// or VM ("I need 5⏎A100", "count: ½⏎A100") when no count of that kind was read:
    /// counts are read only within a clause, so the number would be dropped and the
    /// deployment planned at the default count. A whole number that starts its clause and
    /// ends in punctuation ("1. A100 GPUs", a list's marker) or follows a date word ("until
    /// Dec 10⏎A100") is not taken for one.
    pub(super) fn refuse_counts_cut_off(&mut self) {
        let mentions = &self.mentions;
        let vms_read = !mentions.vm_count.is_empty();
        let gpus_read = !(mentions.gpus_per_vm.is_empty() && mentions.total_gpus.is_empty());
        for i in 0..self.tokens.len() {
            let Some(word) = self.free_word(i) else {
                continue;
            };
            let shape = NotWhole::of(word);
            // A fraction is no list marker and no day of a month, wherever it stands; a
            // whole number is one of them after a date word ("until Dec 10") or when it
            // starts its clause and punctuation ends it ("1. A100").
            let whole_count = || {
                let before = i.checked_sub(1).and_then(|j| self.word(j));
                word.bytes().next().is_some_and(|b| b.is_ascii_digit())
                    && super::parse_count(word).is_some()
                    && match before {
                        Some(before) => !crate::lifetime::is_date_word(before),
                        None => self.ends_line_or_cell(i),
                    }
            };
            // A whole number under a form's label or after a label's colon answers it
            // ("### Team size⏎⏎12", "Team size: 12"), and is not cut off from the next
            // line's GPU.
            let answers_a_label = || {
                shape.is_none() && (self.form_label_end(i).is_some() || self.written_after_colon(i))
            };
            if (shape.is_none() && !whole_count()) || answers_a_label() {
                continue;
            }
            let mut next = i + 1;
            while matches!(self.tokens.get(next), Some(Token::Break(_))) {
                next += 1;
            }
            if next == i + 1 {
                continue;
            }
            let end = match self.find_head(next) {
                Some(super::Head::Vm(end)) if !vms_read => end,
                Some(super::Head::Gpu(end)) if !gpus_read => end,
                _ => continue,
            };
            let number = self.quoted(i, i);
            let head = self.quoted(next, end);
            let message = match shape {
                Some(shape) => shape.message(&number),
                None => format!(
                    "\"{number}\" ends a line or clause and \"{head}\" starts the next, so \"{number}\" is not read as a count of it; write the count right before what it counts (\"{number} {head}\")"
                ),
            };
            self.errors
                .push(ValidationError::new("count", &number, message));
            self.roles[i] = Role::Used;
        }
    }

    /// Where the GPU or machine type that the word at `i` multiplies stands: "x1.5" right
    /// after it, or "1.5" after a separate "x".
    fn multiplied_name(&self, i: usize) -> Option<usize> {
        let names = |j: usize| {
            matches!(
                self.roles.get(j),
                Some(Role::Gpu | Role::Name(Name::MachineType(_)))
            )
        };
        if i >= 1 && self.word(i).is_some_and(|w| w.starts_with('x')) && names(i - 1) {
            return Some(i - 1);
        }
        (i >= 2 && self.word(i - 1) == Some("x") && names(i - 2)).then(|| i - 2)
    }

    /// Refuses counts of 0 ("0 T4", "0 VMs"): they ask for nothing, which is neither a
    /// deployment nor ambiguous. Removing them lets the rest of the request be checked too.
    pub(super) fn refuse_zero_counts(&mut self) {
        let mentions = &mut self.mentions;
        for (field, list) in [
            ("vm_count", &mut mentions.vm_count),
            ("gpu_count", &mut mentions.gpus_per_vm),
            ("gpu_count", &mut mentions.total_gpus),
        ] {
            list.retain(|mentioned: &Mentioned<u32>| {
                if mentioned.value > 0 {
                    return true;
                }
                self.errors.push(ValidationError::new(
                    field,
                    &mentioned.written,
                    format!(
                        "\"{}\" is a count of 0: a deployment has at least 1 VM with at least 1 GPU; write the number you need (to remove a deployment, comment `/promptops destroy`)",
                        mentioned.written
                    ),
                ));
                false
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        for word in ["2.5", ".5", "0.5", "1/2", "1.5x", "x1.5"] {
            assert_eq!(NotWhole::of(word), Some(NotWhole::Fraction), "{word}");
        }
        for word in ["1e3", "1e+3", "2.5e2"] {
            assert_eq!(NotWhole::of(word), Some(NotWhole::Exponent), "{word}");
        }
        assert_eq!(NotWhole::of("50%"), Some(NotWhole::Percent));
        for word in ["5", "x4", "24/7", "t4", "e3", "1e", "us-west1", "22.04.1"] {
            assert_eq!(NotWhole::of(word), None, "{word}");
        }
    }
}

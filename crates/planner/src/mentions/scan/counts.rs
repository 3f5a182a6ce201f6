//! Counts: VMs, GPUs per VM and GPUs in total, read from numbers and the nouns after them
//! ("5 VMs", "T4 x2", "a 4-GPU VM", "two dozen GPUs", "a2-highgpu-1g x 2").

use super::tokens::Boundary;
use super::{
    CountKind, HEAD_WINDOW, Head, Mentioned, Name, Role, Scanner, Token, is_filler, is_gpu_noun,
    is_vm_noun, parse_count, split_number_suffix,
};

/// A count read at a token: what it counts, whether it was written as a multiplier
/// ("8x"), and the token its phrase starts at.
struct CountAt {
    count: u32,
    head: Head,
    multiplied: bool,
    start: usize,
}

impl Scanner<'_> {
    /// VM counts and GPU counts (per VM or in total).
    pub(super) fn find_counts(&mut self) {
        for i in 0..self.tokens.len() {
            if self.find_vms_of_shape(i)
                || self.find_range(i)
                || self.find_machine_multiplier(i)
                || self.find_vm_multiplier(i)
                || self.find_glued_gpu_count(i)
            {
                continue;
            }
            if let Some(found) = self.count_at(i) {
                self.push_count_at(i, found);
            }
        }
    }

    /// "3 x 4 GPU T4 VMs", "2 x 8 A100 nodes", "3 x (4x T4) VMs": so many VMs of the shape
    /// after the "x", whose count is of GPUs per VM. The first count was dropped and the
    /// second read as VMs (4 VMs with 1 T4).
    fn find_vms_of_shape(&mut self, i: usize) -> bool {
        let Some(word) = self.free_word(i) else {
            return false;
        };
        let digits = |w: &str| !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit());
        let (vms, mut k) = match word.strip_suffix('x') {
            Some(n) if digits(n) => (parse_count(n), i + 1),
            _ if digits(word) && self.word(i + 1) == Some("x") => (parse_count(word), i + 2),
            _ => return false,
        };
        let Some(vms) = vms else {
            return false;
        };
        let in_parens = self.tokens.get(k) == Some(&Token::Break(Boundary::Paren));
        if in_parens {
            k += 1;
        }
        let Some(per_vm) = self.free_word(k).and_then(parse_count) else {
            return false;
        };
        let Some(noun) = self.shape_noun(k + 1, in_parens) else {
            return false;
        };
        let written = self.written(i, noun);
        let reading = format!("\"{written}\" read as {vms} VMs with {per_vm} GPUs each");
        self.mentions.push_count(
            CountKind::Vms,
            Mentioned::new(vms, written.clone()).with_reading(reading),
        );
        self.mentions.push_gpus_per_vm(per_vm, written);
        for j in i..=noun {
            if self.roles[j] == Role::Free {
                self.roles[j] = Role::Used;
            }
        }
        true
    }

    /// The VM noun that ends a shape's words from `start` ("GPU T4 VMs", "A100 nodes", "T4)
    /// VMs" after a parenthesis), when a GPU is named in them.
    fn shape_noun(&self, start: usize, in_parens: bool) -> Option<usize> {
        let mut gpu_named = false;
        for j in start..start + HEAD_WINDOW {
            match self.tokens.get(j)? {
                Token::Break(Boundary::Close) if in_parens => {}
                Token::Word(_) if self.roles[j] == Role::Gpu => gpu_named = true,
                Token::Word(w) if is_vm_noun(w) => return gpu_named.then_some(j),
                Token::Word(w) if is_gpu_noun(w) => gpu_named = true,
                Token::Word(w) if is_filler(w) => {}
                _ => return None,
            }
        }
        None
    }

    /// "a2-highgpu-1g x 2": a multiplier after a machine type counts VMs.
    fn find_machine_multiplier(&mut self, i: usize) -> bool {
        let Some(Role::Name(Name::MachineType(_))) = self.roles.get(i) else {
            return false;
        };
        let Some((count, end)) = self.multiplier_after(i) else {
            return false;
        };
        let written = self.written(i, end);
        self.mentions.push_vm_count(count, written);
        for role in &mut self.roles[i + 1..=end] {
            *role = Role::Used;
        }
        true
    }

    /// "L4 VMs x 3", "nodes × 2", "GPU VM (T4) x3": a multiplier after a VM noun, or after
    /// the GPU in brackets behind it, counts VMs (it was passed over for 1 VM). Not "VM x 2
    /// GPUs", whose count has a noun of its own.
    fn find_vm_multiplier(&mut self, i: usize) -> bool {
        if !self.word(i).is_some_and(is_vm_noun) {
            return false;
        }
        let after = self.bracketed_gpu_after(i).unwrap_or(i);
        let Some((count, end)) = self.multiplier_after(after) else {
            return false;
        };
        if self
            .word(end + 1)
            .is_some_and(|w| is_gpu_noun(w) || is_vm_noun(w))
            || self.roles.get(end + 1) == Some(&Role::Gpu)
        {
            return false;
        }
        let written = self.written(i, end);
        self.mentions.push_vm_count(count, written);
        for role in &mut self.roles[after + 1..=end] {
            *role = Role::Used;
        }
        true
    }

    /// The closing bracket's index when a GPU's name stands in brackets right after `i`
    /// ("VM (T4)", "VM (NVIDIA T4)").
    pub(super) fn bracketed_gpu_after(&self, i: usize) -> Option<usize> {
        if self.tokens.get(i + 1) != Some(&Token::Break(Boundary::Paren)) {
            return None;
        }
        let mut j = i + 2;
        while self.roles.get(j) == Some(&Role::Gpu) {
            j += 1;
        }
        (j > i + 2 && self.tokens.get(j) == Some(&Token::Break(Boundary::Close))).then_some(j)
    }

    /// "a 4-GPU VM": a per-VM GPU count glued to the noun.
    fn find_glued_gpu_count(&mut self, i: usize) -> bool {
        let Some(word) = self.free_word(i) else {
            return false;
        };
        let Some(count) = word
            .strip_suffix("-gpus")
            .or_else(|| word.strip_suffix("-gpu"))
            .and_then(parse_count)
        else {
            return false;
        };
        let written = word.to_owned();
        self.mentions.push_gpus_per_vm(count, written);
        self.roles[i] = Role::Used;
        true
    }

    /// "T4 x2", "A100 x 4": a multiplier at `i` after the GPU name, glued or spaced alike,
    /// and where it ends. "T4 x 2 VMs" counts VMs: the "2 VMs" is read on its own. "A100
    /// (x4)", "(A100) x4": the multiplier may stand in parentheses, or after them; "T4 GPUs
    /// x 4": after the GPU noun that follows the name.
    fn multiplier_of_name_before(&self, i: usize) -> Option<(u32, usize)> {
        let set_off = i > 1
            && matches!(
                self.tokens[i - 1],
                Token::Break(Boundary::Paren | Boundary::Close)
            );
        let name_before = |back: usize| i >= back && self.roles[i - back] == Role::Gpu;
        let noun_before = i > 1 && self.word(i - 1).is_some_and(is_gpu_noun);
        (name_before(1) || ((set_off || noun_before) && name_before(2)))
            .then(|| self.multiplier_after(i - 1))
            .flatten()
            .filter(|(_, end)| *end == i || !self.word(end + 1).is_some_and(is_vm_noun))
    }

    /// The count the free word at `i` starts ("5 VMs", "T4 x2", "5x", "two dozen GPUs")
    /// and what it counts; `None` when it counts nothing (a count with no noun after it
    /// is noted as such).
    fn count_at(&mut self, i: usize) -> Option<CountAt> {
        let word = self.free_word(i)?;
        let postfix = self.multiplier_of_name_before(i);
        let (count, head) = if let Some((count, end)) = postfix {
            (count, Head::Gpu(end))
        } else if let Some((count, noun)) = split_number_suffix(word) {
            if is_vm_noun(noun) {
                (count, Head::Vm(i))
            } else if is_gpu_noun(noun) {
                (count, Head::Gpu(i))
            } else if noun == "x" {
                (count, self.find_head(i + 1)?)
            } else {
                return None;
            }
        } else {
            let count = self.count_word(i)?;
            let Some(head) = self.find_head(i + 1) else {
                if !matches!(word, "a" | "an") {
                    self.count_without_noun_after(i, count);
                }
                return None;
            };
            // "a"/"an" only counts VMs ("a VM with 4 T4s"); "a GPU workload",
            // "2 GPUs a VM" and "a VM per team / for each user" say nothing about how many.
            if matches!(word, "a" | "an")
                && match head {
                    Head::Vm(end) => self.follows_gpu_count(i) || self.distributive_after(end),
                    Head::Gpu(end) => !self.asks_for_a_gpu(end),
                }
            {
                return None;
            }
            // "VMs: 3 GPUs per VM: 2" on one line: the 3 is the value of the label before
            // it, and the words after it label the 2.
            let (Head::Vm(noun) | Head::Gpu(noun)) = head;
            if self.written_after_colon(i)
                && self.labels_the_next_value(noun)
                && self.has_counting_label(i)
            {
                self.count_without_noun_after(i, count);
                return None;
            }
            (count, head)
        };
        // "8x H100 node": a multiplied GPU name before a VM noun counts GPUs per VM.
        let multiplied = word
            .strip_suffix('x')
            .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
            || self.word(i + 1) == Some("x");
        // "two dozen": the phrase starts at the multiplier's count.
        let start = if matches!(word, "dozen" | "couple" | "pair")
            && i > 0
            && self.word(i - 1).and_then(parse_count).is_some()
        {
            i - 1
        } else {
            i
        };
        if let Some((_, end)) = postfix {
            // The "4" of "x 4" is this count, not a count of its own.
            self.roles[end] = Role::Used;
        }
        Some(CountAt {
            count,
            head,
            multiplied,
            start,
        })
    }

    /// Whether "a GPU" ending at `noun` asks for one ("I need a GPU", "a GPU please", "a
    /// GPU for my thesis"): the generic noun, ending its clause or followed by what the
    /// request goes on with. "a GPU workload" or "a GPU cluster" is a GPU's use, and "a
    /// GPU with 24GB" a description of the GPU wanted: no count.
    fn asks_for_a_gpu(&self, noun: usize) -> bool {
        if !self.word(noun).is_some_and(is_gpu_noun) {
            return false;
        }
        match self.tokens.get(noun + 1) {
            None | Some(Token::Break(_)) => true,
            Some(Token::Word(next)) => matches!(
                next.as_str(),
                "please" | "pls" | "for" | "in" | "on" | "to" | "asap" | "today" | "and"
            ),
        }
    }

    /// Whether the noun at `noun` (with "per VM" or "count" after it) is a label whose
    /// value follows its colon: "GPUs per VM: 2", "GPU: T4".
    fn labels_the_next_value(&self, noun: usize) -> bool {
        for j in noun + 1..noun + 4 {
            let Some(word) = self.word(j) else {
                return false;
            };
            if self.written_after_colon(j) {
                return true;
            }
            if !(matches!(word, "per" | "count" | "type") || is_vm_noun(word)) {
                return false;
            }
        }
        false
    }

    /// Records the count found at `i` as VMs, GPUs per VM or GPUs in total.
    fn push_count_at(&mut self, i: usize, found: CountAt) {
        let CountAt {
            count,
            head,
            multiplied,
            start,
        } = found;
        match head {
            // "8x H100 node" is one node with 8 H100s; "3 x T4 VMs" is 3 VMs. "a 4 GPU VM"
            // and "4 GPU T4 VM" are one VM with 4 GPUs, as "a 4-GPU VM" is; "2 GPU VMs" are
            // 2 VMs, and "a GPU VM" is one VM that has GPUs ("a GPU VM with 2 T4s").
            Head::Vm(end)
                if (multiplied && (i + 1..end).any(|j| self.roles[j] == Role::Gpu)
                    || self.word(i + 1) == Some("gpu")
                        && !matches!(self.word(i), Some("a" | "an")))
                    && !self.word(end).is_some_and(|noun| noun.ends_with('s')) =>
            {
                let written = self.written(i, end);
                self.mentions.push_gpus_per_vm(count, written);
            }
            Head::Vm(end) => self.push_qualified_count(CountKind::Vms, count, start, end),
            Head::Gpu(end) => {
                let (per_vm, end) = self.multiplier_per_vm(i, end);
                if per_vm && i >= 1 && self.word(i - 1) == Some("and") {
                    // "2 VMs and 4 GPUs" may mean 4 in all: the reading is said.
                    self.push_per_vm_said(count, i, end, " (after the VMs, it may mean a total)");
                } else if per_vm {
                    self.push_qualified_count(CountKind::PerVm, count, start, end);
                } else if let Some(from) = self.upgrade_to_before(start) {
                    self.push_per_vm_said(
                        count,
                        from,
                        end,
                        " (a VM count is kept or stated separately)",
                    );
                } else {
                    self.push_qualified_count(CountKind::Total, count, start, end);
                }
            }
        }
        self.roles[i] = Role::Used;
    }

    /// Whether the GPU count at `i` (its phrase ending at `end`) is per VM, and where the
    /// phrase ends. A multiplier after the GPU's name ("T4 x2", "A100x8") is read as the
    /// count before it would be ("2 VMs of T4 x2" as "2 VMs of 2 T4"), and before a VM
    /// noun in the singular it counts that VM's GPUs ("H100 x8 node", as "8x H100 node").
    fn multiplier_per_vm(&self, i: usize, end: usize) -> (bool, usize) {
        let multiplier = self.word(i).is_some_and(|w| w.starts_with('x'));
        let name = (1..=2)
            .filter_map(|back| i.checked_sub(back))
            .find(|&j| multiplier && self.roles[j] == Role::Gpu && j + 3 > end);
        let Some(name) = name else {
            return self.per_vm_marker(i, end);
        };
        let noun_after = self
            .word(end + 1)
            .is_some_and(|noun| is_vm_noun(noun) && !noun.ends_with('s'));
        if noun_after {
            return (true, end + 1);
        }
        self.per_vm_marker(name, end)
    }

    /// Records GPUs per VM read from words that may mean a total, saying how they were
    /// read and what to write for a total.
    fn push_per_vm_said(&mut self, count: u32, from: usize, end: usize, why: &str) {
        let written = self.written(from, end);
        let reading = format!(
            "\"{written}\" read as {count} GPUs per VM{why}; write \"{count} GPUs in total\" for a total"
        );
        self.mentions.push_count(
            CountKind::PerVm,
            Mentioned::new(count, written).with_reading(reading),
        );
    }

    /// `(count, last index)` of "x 2" / "x2" / "× 2" right after the token at `index` (a
    /// machine type or a GPU name).
    fn multiplier_after(&self, index: usize) -> Option<(u32, usize)> {
        let next = self.free_word(index + 1)?;
        if next == "x" {
            let count = self.free_word(index + 2).and_then(parse_count)?;
            return Some((count, index + 2));
        }
        let digits = next.strip_prefix('x')?;
        (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
            .then(|| digits.parse().ok())
            .flatten()
            .map(|count| (count, index + 1))
    }
}

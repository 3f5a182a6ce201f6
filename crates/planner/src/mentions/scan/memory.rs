//! GPU memory in the request: next to a GPU name it picks that GPU's variant ("A100 with
//! 80GB", "80GB A100"); alone ("24GB of GPU memory", "a GPU with at least 40GB") it is a
//! requirement that the planner meets with the cheapest GPU offering that much.

use promptops_core::ValidationError;

use super::tokens::Boundary;
use super::words::{is_gigabytes, is_memory_word, is_size_unit};
use super::{Role, Scanner, Token, alias_keys, is_gpu_noun, split_number_suffix};
use crate::mentions::{GpuRequirement, Mentioned};

/// Words that may sit between a GPU name (or noun) and its memory ("A100 with at least 80GB").
fn is_memory_link(word: &str) -> bool {
    matches!(
        word,
        "with"
            | "having"
            | "has"
            | "have"
            | "should"
            | "must"
            | "needs"
            | "need"
            | "of"
            | "at"
            | "least"
            | "min"
            | "minimum"
            | "and"
            | "each"
            // "a GPU that has 24GB".
            | "that"
            | "which"
            // Form factors between a GPU's name and its memory: "A100 SXM4 40GB".
            | "sxm"
            | "sxm2"
            | "sxm3"
            | "sxm4"
            | "sxm5"
            | "pcie"
            | "nvlink"
    )
}

/// How many unread sizes the plan names one by one.
const MOST_NOTED: usize = 5;

/// An amount of memory in the text: gigabytes, its first and last token, and the index
/// the phrase ends at (after "of GPU memory").
struct MemoryAmount {
    gb: u32,
    start: usize,
    last: usize,
    end: usize,
}

impl Scanner<'_> {
    /// `(gigabytes, index of the last token)` for "80gb", "80 GB", "80G".
    fn memory_amount(&self, i: usize) -> Option<(u32, usize)> {
        let word = self.free_word(i)?;
        if let Some((number, unit)) = super::split_number_suffix(word)
            && is_gigabytes(unit)
        {
            return Some((number, i));
        }
        let number = word.parse::<u32>().ok().filter(|_| word.len() <= 4)?;
        let unit = self.free_word(i + 1)?;
        // "80 GB", "64 gigs"; a "g" apart from its number is no unit.
        (unit != "g" && is_gigabytes(unit)).then_some((number, i + 1))
    }

    pub(super) fn find_gpu_memory(&mut self) {
        for i in 0..self.tokens.len() {
            let Some((gb, last)) = self.memory_amount(i) else {
                continue;
            };
            let Some((mut gpu_memory_after, mut end)) = self.memory_words_after(last) else {
                continue;
            };
            let back = self.gpu_before(i);
            // "2 VMs with 24GB GPUs": the GPUs' memory (it was named as saying nothing, and
            // the default GPU, with 16 GB, planned).
            if !gpu_memory_after
                && back.is_none()
                && self
                    .word(last + 1)
                    .is_some_and(|w| matches!(w, "gpu" | "gpus" | "card" | "cards" | "graphics"))
            {
                (gpu_memory_after, end) = (true, last + 1);
            }
            let amount = MemoryAmount {
                gb,
                start: i,
                last,
                end,
            };
            self.record_memory(amount, gpu_memory_after, back);
        }
    }

    /// What the words after an amount ending at `last` say: whether they name GPU memory
    /// ("VRAM", "of GPU memory"), and the index the phrase ends at. `None` for the machine's
    /// RAM ("64GB RAM").
    fn memory_words_after(&self, last: usize) -> Option<(bool, usize)> {
        let after: Vec<&str> = (last + 1..last + 4)
            .map_while(|j| self.word(j))
            .filter(|w| *w != "of")
            .collect();
        let gpu_memory_after = after.first().is_some_and(|w| matches!(*w, "vram" | "hbm"))
            || (after.first().is_some_and(|w| matches!(*w, "gpu" | "video"))
                && after
                    .get(1)
                    .is_some_and(|w| matches!(*w, "memory" | "ram" | "mem")));
        let machine_ram = !gpu_memory_after && after.first() == Some(&"ram");
        if machine_ram {
            return None;
        }

        let mut end = last;
        if gpu_memory_after {
            end = (last + 1..last + 5)
                .take_while(|j| {
                    self.word(*j).is_some_and(|w| {
                        matches!(
                            w,
                            "of" | "gpu" | "video" | "vram" | "hbm" | "memory" | "ram" | "mem"
                        )
                    })
                })
                .last()
                .unwrap_or(last);
        } else if after
            .first()
            .is_some_and(|w| matches!(*w, "memory" | "mem"))
        {
            end = (last + 1..last + 3)
                .take_while(|j| {
                    self.word(*j)
                        .is_some_and(|w| matches!(w, "of" | "memory" | "mem"))
                })
                .last()
                .unwrap_or(last);
        }
        Some((gpu_memory_after, end))
    }

    /// Back over linking words from `i` to a GPU name or a GPU noun in the same clause.
    fn gpu_before(&self, i: usize) -> Option<usize> {
        for j in (i.saturating_sub(5)..i).rev() {
            // "A100 (80GB)": the amount in parentheses right after the name.
            if j + 1 == i && self.tokens[j] == Token::Break(Boundary::Paren) {
                continue;
            }
            let word = self.word(j)?;
            if self.roles[j] == Role::Gpu || is_gpu_noun(word) {
                // "T4 GPUs with 16GB": the noun's GPU name is the one qualified.
                let named_before = j > 0 && is_gpu_noun(word) && self.roles[j - 1] == Role::Gpu;
                return Some(if named_before { j - 1 } else { j });
            }
            if !is_memory_link(word) {
                return None;
            }
        }
        None
    }

    /// The amount qualifies the GPU named next to it (`back`, or right after it); else,
    /// said of GPU memory or of a GPU noun, it is a requirement; else it says nothing.
    fn record_memory(&mut self, amount: MemoryAmount, gpu_memory_after: bool, back: Option<usize>) {
        let MemoryAmount {
            gb,
            start,
            last,
            end,
        } = amount;
        let span_ending_at = |j: usize| self.gpu_spans.iter().position(|s| s.end == j);
        let span_starting_at = |j: usize| self.gpu_spans.iter().position(|s| s.start == j);
        let named = back
            .and_then(|j| span_ending_at(j).map(|s| (s, j)))
            .or_else(|| span_starting_at(end + 1).map(|s| (s, end + 1)));
        if let Some((span, _)) = named {
            let from = start.min(self.gpu_spans[span].start);
            let to = end.max(self.gpu_spans[span].end);
            self.qualify_span(span, gb, from, to);
            // Part of the GPU's name now: "two 80GB A100 VMs" still counts VMs.
            for role in &mut self.roles[start..=last] {
                *role = Role::Gpu;
            }
            return;
        }
        if !(gpu_memory_after || back.is_some()) {
            // "a T4 VM with 80GB of memory": neither said of a GPU nor of RAM, so not read;
            // the plan says so rather than pass over it.
            if end > last {
                let written = self.quoted(start, end);
                self.mentions.notices.push(format!(
                    "\"{written}\" was not read: for the VM's memory write \"{gb}GB RAM\"; for GPU memory write \"a GPU with {gb}GB\""
                ));
            }
            return;
        }
        let from = back.unwrap_or(start);
        let written = self.written(from, end);
        let requirement = GpuRequirement::new(Some(gb), false, self.catalog);
        if requirement.satisfying.is_empty() {
            self.errors.push(no_gpu_with(gb, &written, self.catalog));
        } else {
            let reading = format!("\"{written}\" read as {}", requirement.describe());
            let mentioned = Mentioned::new(requirement, written).with_reading(reading);
            self.mentions.push_gpu_requirement(mentioned, self.catalog);
        }
        for role in &mut self.roles[start..=last] {
            *role = Role::Used;
        }
    }

    /// The GPU a name with a memory size stands for: the variant with exactly that memory,
    /// else the smallest variant with more (said in the reading), else an error.
    fn qualify_span(&mut self, span: usize, gb: u32, from: usize, to: usize) {
        let bare = self.written(self.gpu_spans[span].start, self.gpu_spans[span].end);
        let bare = bare
            .strip_suffix('s')
            .filter(|b| self.gpu_index.lookup(b).is_some())
            .unwrap_or(&bare)
            .to_owned();
        let written = self.written(from, to);
        let bare_keys = alias_keys(&bare);
        let mut variants: Vec<&promptops_core::GpuType> = self
            .catalog
            .gpus()
            .iter()
            .filter(|gpu| {
                [gpu.id.as_str(), gpu.name.as_str()]
                    .into_iter()
                    .chain(gpu.aliases.iter().map(String::as_str))
                    .flat_map(alias_keys)
                    .any(|key| bare_keys.iter().any(|b| key.starts_with(b.as_str())))
            })
            .collect();
        variants.sort_by_key(|gpu| gpu.memory_gb);
        let exact = self
            .gpu_index
            .lookup(&format!("{bare} {gb}gb"))
            .map(str::to_owned)
            .or_else(|| {
                variants
                    .iter()
                    .find(|gpu| gpu.memory_gb == gb)
                    .map(|gpu| gpu.id.clone())
            });
        let (id, reading) = match exact {
            Some(id) => (id.clone(), format!("\"{written}\" read as {id} ({gb} GB)")),
            None => match variants.iter().find(|gpu| gpu.memory_gb >= gb) {
                Some(gpu) => (
                    gpu.id.clone(),
                    format!(
                        "\"{written}\": no {bare} has exactly {gb} GB; {} has {} GB",
                        gpu.id, gpu.memory_gb
                    ),
                ),
                None => {
                    let sizes: Vec<String> = variants
                        .iter()
                        .map(|gpu| format!("{} GB ({})", gpu.memory_gb, gpu.id))
                        .collect();
                    let mut error = no_gpu_with(gb, &written, self.catalog);
                    // "a T4 GPU and 64GB memory" may mean the VM's memory.
                    let ram = if written.ends_with(" memory") && !written.contains("gpu memory") {
                        "; if the VM's memory was meant, write it as RAM (e.g. \"64GB RAM\")"
                    } else {
                        ""
                    };
                    error.message = format!(
                        "\"{written}\": {bare} comes with {}; {}{ram}",
                        sizes.join(" or "),
                        error.message
                    );
                    self.errors.push(error);
                    return;
                }
            },
        };
        self.gpu_spans[span].qualified = Some((id, written, reading));
    }

    /// Records the GPU names. A name qualified by memory ("A100 with 80GB") also stands for
    /// its other bare mentions ("the A100s"), so they do not read as the 40 GB one.
    pub(super) fn push_gpu_spans(&mut self) {
        let qualified: Vec<(String, String)> = self
            .gpu_spans
            .iter()
            .filter_map(|s| {
                let bare = self.written(s.start, s.end);
                s.qualified.as_ref().map(|(id, _, _)| (bare, id.clone()))
            })
            .collect();
        let spans = std::mem::take(&mut self.gpu_spans);
        for span in &spans {
            let bare = self.written(span.start, span.end);
            let mentioned = match &span.qualified {
                Some((id, written, reading)) => {
                    Mentioned::new(id.clone(), written.clone()).with_reading(reading.clone())
                }
                None => {
                    let singular = bare.strip_suffix('s').unwrap_or(&bare);
                    let same: Vec<&String> = qualified
                        .iter()
                        .filter(|(b, _)| b == &bare || b.strip_suffix('s').unwrap_or(b) == singular)
                        .map(|(_, id)| id)
                        .collect();
                    match same.as_slice() {
                        [id] => Mentioned::new((*id).clone(), bare),
                        _ => Mentioned::new(span.id.clone(), bare),
                    }
                }
            };
            self.mentions.push_gpu_type_read(mentioned);
        }
        self.gpu_spans = spans;
    }
}

fn no_gpu_with(gb: u32, written: &str, catalog: &promptops_core::Catalog) -> ValidationError {
    let mut largest: Vec<&promptops_core::GpuType> = catalog.gpus().iter().collect();
    largest.sort_by_key(|gpu| std::cmp::Reverse(gpu.memory_gb));
    let most = largest.first().map_or(0, |gpu| gpu.memory_gb);
    let with_most: Vec<&str> = largest
        .iter()
        .filter(|gpu| gpu.memory_gb == most)
        .map(|gpu| gpu.id.as_str())
        .collect();
    let fitting: Vec<String> = largest
        .iter()
        .rev()
        .filter(|gpu| gpu.memory_gb >= gb)
        .map(|gpu| format!("{} ({} GB)", gpu.id, gpu.memory_gb))
        .collect();
    let message = if fitting.is_empty() {
        format!(
            "no GPU in the catalog has {gb} GB of memory; the most is {most} GB ({})",
            with_most.join(", ")
        )
    } else {
        format!("GPUs with at least {gb} GB: {}", fitting.join(", "))
    };
    ValidationError::new("gpu_type", written, message)
}

impl Scanner<'_> {
    /// A size nothing read ("1 VM, 2 GPUs (T4), 200GB"): not taken for the disk or the GPU
    /// memory, which the request may not mean, but named in the plan with what to write.
    /// Before, it was passed over for the default disk.
    pub(super) fn note_unread_sizes(&mut self) {
        let mut noted: Vec<String> = Vec::new();
        let mut more = 0;
        for i in 0..self.tokens.len() {
            let Some(word) = self.free_word(i) else {
                continue;
            };
            let last = match split_number_suffix(word) {
                Some((_, unit)) if is_size_unit(unit) => i,
                Some(_) => continue,
                None if word.bytes().all(|b| b.is_ascii_digit())
                    && self.free_word(i + 1).is_some_and(is_size_unit) =>
                {
                    i + 1
                }
                None => continue,
            };
            // "64GB RAM", "80GB of memory": said of memory, and noted where that is read;
            // "RAM: 32 GB" is the VM's memory (`machine_size`).
            if self
                .word(last + 1)
                .is_some_and(|next| next == "of" || is_memory_word(next))
                || i.checked_sub(1)
                    .and_then(|j| self.word(j))
                    .is_some_and(|previous| previous == "ram")
            {
                continue;
            }
            for role in &mut self.roles[i..=last] {
                *role = Role::Used;
            }
            // A few named, the rest counted: the plan's assumptions stay readable whatever
            // the request holds.
            if noted.len() == MOST_NOTED {
                more += 1;
                continue;
            }
            let written = self.quoted(i, last);
            if !noted.contains(&written) {
                noted.push(written);
            }
        }
        for written in noted {
            self.mentions.notices.push(format!(
                "\"{written}\" was not read: it does not say what it sizes; write \"{written} disk\" for the boot disk or \"a GPU with {written}\" for GPU memory"
            ));
        }
        if more > 0 {
            self.mentions.notices.push(format!(
                "{more} more sizes that say not what they size were not read"
            ));
        }
    }
}

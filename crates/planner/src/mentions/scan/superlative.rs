//! A GPU asked for by rank instead of by name: "the fastest GPU available", "the most
//! powerful GPU you have", "the best GPU for training". The catalog ranks GPUs by price and
//! memory, not by speed, and the dearest GPU costs about twenty times the cheapest, so such a
//! request is refused naming the most capable GPU offered and what to write. Before, the
//! default T4 was planned ("the request names no GPU"), or no request was found at all.
//!
//! "The biggest node" (a whole machine) is read elsewhere (`needs::biggest`); "the cheapest
//! GPU" is a requirement of its own (`find_cheapest`).

use promptops_core::{ValidationError, usd};

use super::{Role, Scanner, is_gpu_noun};

/// The words of a rank that says nothing the catalog knows, and how many there are.
fn rank_at(words: &[Option<&str>]) -> Option<usize> {
    match words {
        [
            Some("most"),
            Some("powerful" | "capable" | "performant"),
            ..,
        ] => Some(2),
        [Some("highest"), Some("end" | "performance"), ..] => Some(2),
        [
            Some(
                "fastest" | "strongest" | "best" | "top" | "top-end" | "highest-end" | "beefiest"
                | "quickest" | "top-tier" | "latest" | "newest",
            ),
            ..,
        ] => Some(1),
        _ => None,
    }
}

impl Scanner<'_> {
    /// Refuses a GPU asked for by a rank when the request names no GPU. A memory size
    /// beside it ("the fastest GPU with 24GB") does not settle it: what meets a size is
    /// planned cheapest first.
    pub(super) fn refuse_ranked_gpu(&mut self) {
        // "the most powerful GPU VM" asks for the biggest machine, read as such.
        if !self.mentions.gpu_type.is_empty() || !self.mentions.biggest.is_empty() {
            return;
        }
        for i in 0..self.tokens.len() {
            let words: Vec<Option<&str>> = (i..i + 2).map(|j| self.free_word(j)).collect();
            let Some(rank_words) = rank_at(&words) else {
                continue;
            };
            // "the fastest GPU", "the best available GPU", "fastest NVIDIA GPUs"; not "the
            // best option for GPUs".
            let noun = (i + rank_words..i + rank_words + 3)
                .map_while(|j| self.word(j).map(|w| (j, w)))
                .take_while(|(_, w)| {
                    is_gpu_noun(w) || matches!(*w, "available" | "possible" | "nvidia" | "single")
                })
                .find(|(_, w)| is_gpu_noun(w))
                .map(|(j, _)| j);
            let Some(end) = noun else { continue };
            let written = self.quoted(i, end);
            let message = match self
                .catalog
                .gpus()
                .iter()
                .max_by(|a, b| a.usd_per_gpu_hour.total_cmp(&b.usd_per_gpu_hour))
            {
                Some(top) => format!(
                    "\"{written}\" names no GPU: the catalog ranks GPUs by price and memory, not speed; the most capable offered is {} ({} GB, about {} per GPU-hour); name it or another (e.g. \"1 H100 VM\", \"2 L4 VMs\")",
                    top.id,
                    top.memory_gb,
                    usd(top.usd_per_gpu_hour, 2)
                ),
                None => format!("\"{written}\" names no GPU; name one (e.g. \"2 L4 VMs\")"),
            };
            self.mentions
                .unclear
                .push(ValidationError::new("gpu_type", &written, message));
            for role in &mut self.roles[i..i + rank_words] {
                *role = Role::Used;
            }
            return;
        }
    }
}

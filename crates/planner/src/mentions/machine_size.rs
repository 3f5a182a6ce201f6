//! The size of each VM the request states: vCPUs ("32 vCPUs", "16 cores", "vCPUs: 8") and
//! memory ("128GB RAM", "64 GB of system memory", "RAM: 64GB"). They were named in the plan
//! as not used, and the machine type stayed the default for the GPUs (4 vCPUs for one T4).
//! Now they are the least each VM must have: the offline planner chooses the cheapest
//! machine type that has them and no less of either than the GPUs' default machine
//! (`crate::fit::size_machine`), and a plan on either path whose machine type has less is
//! refused or repaired (`Mentions::check_machine_size`). Threads are the work's, not the
//! machine's, and are named as not read (`screen::ignored`).
//!
//! Memory counts only when it is said to be the VM's ("RAM", "system memory"): "a GPU with
//! 24GB memory" is the GPU's (read by the scanner).

use std::sync::LazyLock;

use promptops_core::{Catalog, DeploymentRequest, ValidationError};
use regex::Regex;

use super::{Mentioned, Mentions};

/// The least each VM must have. At least one of the two is stated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MachineSize {
    pub vcpus: Option<u32>,
    pub memory_gb: Option<u32>,
}

impl MachineSize {
    /// Whether a machine with `vcpus` and `memory_gb` has at least this.
    pub fn fits(&self, vcpus: u32, memory_gb: f64) -> bool {
        self.vcpus.is_none_or(|need| vcpus >= need)
            && self
                .memory_gb
                .is_none_or(|need| memory_gb + 1e-9 >= f64::from(need))
    }
}

impl std::fmt::Display for MachineSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.vcpus, self.memory_gb) {
            (Some(vcpus), Some(gb)) => write!(f, "{vcpus} vCPUs and {gb} GB of memory"),
            (Some(vcpus), None) => write!(f, "{vcpus} vCPUs"),
            (None, Some(gb)) => write!(f, "{gb} GB of memory"),
            (None, None) => write!(f, "any size"),
        }
    }
}

static VCPUS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?P<n>\d{1,4})\s*(?:v-?cpus?|cpus?|vcores?|cores)\b|\b(?:v-?cpus?|cpus?|vcores?|cores)\s*[:=]\s*(?P<m>\d{1,4})\b",
    )
    .expect("vCPU pattern")
});

static MEMORY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)
        \b (?P<n>\d{1,5}) \s* (?P<unit> gb|gbs|gib|g|gigs?|gigabytes?|tb )
            \s+ (?: of \s+ )? (?: (?: system | host | cpu ) \s+ (?: ram | memory | mem ) | ram ) \b
        | \b (?: ram | system \s+ memory ) \s* [:=]? \s* (?P<m>\d{1,5}) \s* (?P<unit2> gb|gib|g|tb )? \b",
    )
    .expect("memory pattern")
});

// A sentence about another machine, or about what is or was in use: "Our laptop has 8
// cores and 16GB RAM, too slow", "currently on 8 vCPUs". Its size is not the VMs' (the
// laptop's sized the plan's machine type).
static OTHER_MACHINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix) \b (?: laptops? | desktops? | workstations? | macbooks? | (?: my | our ) \s+ (?: machine | pc | computer | mac )
          | local \s+ machine | locally | on-?prem(?:ise|ises)? | currently | current | previously | used \s+ to
          | last \s+ (?: run | time | setup ) ) \b",
    )
    .expect("other machine pattern")
});

/// Words that ask for the VMs: a clause with one is about them ("need 16 cores like my
/// laptop").
static ASKS_FOR_VMS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:need|needs|want|wants|please|each|per)\b").expect("asking pattern")
});

/// Where each clause of `text` ends (",", ".", ";", "!", "?" before a space, or a line break).
static CLAUSE_END: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[,.;!?](?:\s|$)|\n").expect("clause end pattern"));

/// The clauses of a text, found once (a text may state many sizes).
struct Clauses<'a> {
    text: &'a str,
    /// Each clause's end mark, as (start, end) in `text`.
    ends: Vec<(usize, usize)>,
}

impl<'a> Clauses<'a> {
    fn new(text: &'a str) -> Self {
        let ends = CLAUSE_END
            .find_iter(text)
            .map(|m| (m.start(), m.end()))
            .collect();
        Clauses { text, ends }
    }

    /// Whether the clause holding `at` is about another machine and asks for nothing.
    fn about_another_machine(&self, at: usize) -> bool {
        let next = self.ends.partition_point(|&(start, _)| start < at);
        let start = next.checked_sub(1).map_or(0, |i| self.ends[i].1);
        let end = self.ends.get(next).map_or(self.text.len(), |&(end, _)| end);
        let clause = &self.text[start..end];
        OTHER_MACHINE.is_match(clause) && !ASKS_FOR_VMS.is_match(clause)
    }
}

/// The size the text states, as one requirement (the largest of each part when stated
/// twice), with the words that state it; and a note for each size said of another machine.
pub(super) fn find(text: &str) -> (Vec<Mentioned<MachineSize>>, Vec<String>) {
    let mut size = MachineSize::default();
    let mut written = Vec::new();
    let mut elsewhere = Vec::new();
    let clauses = Clauses::new(text);
    for caps in VCPUS.captures_iter(text) {
        if clauses.about_another_machine(caps.get(0).map_or(0, |m| m.start())) {
            elsewhere.push(caps[0].trim().to_owned());
            continue;
        }
        let Some(n) = caps.name("n").or(caps.name("m")) else {
            continue;
        };
        let Ok(vcpus) = n.as_str().parse::<u32>() else {
            continue;
        };
        if vcpus == 0 {
            continue;
        }
        size.vcpus = Some(size.vcpus.map_or(vcpus, |v| v.max(vcpus)));
        written.push(caps[0].trim().to_owned());
    }
    for caps in MEMORY.captures_iter(text) {
        if clauses.about_another_machine(caps.get(0).map_or(0, |m| m.start())) {
            elsewhere.push(caps[0].trim().to_owned());
            continue;
        }
        let Some(n) = caps.name("n").or(caps.name("m")) else {
            continue;
        };
        let Ok(amount) = n.as_str().parse::<u32>() else {
            continue;
        };
        let unit = caps
            .name("unit")
            .or(caps.name("unit2"))
            .map_or("gb", |u| u.as_str());
        let gb = if unit.eq_ignore_ascii_case("tb") {
            amount.saturating_mul(1000)
        } else {
            amount
        };
        if gb == 0 {
            continue;
        }
        size.memory_gb = Some(size.memory_gb.map_or(gb, |m| m.max(gb)));
        written.push(caps[0].trim().to_owned());
    }
    let notes = elsewhere
        .into_iter()
        .map(|words| {
            format!(
                "\"{words}\" is said of another machine or of what is in use, so it does not size the VMs; to size them, write it per VM (e.g. \"{words} per VM\")"
            )
        })
        .collect();
    if written.is_empty() {
        return (Vec::new(), notes);
    }
    (vec![Mentioned::new(size, written.join("\", \""))], notes)
}

impl Mentions {
    /// An error when the plan's machine type is smaller than the size the request states
    /// ("32 vCPUs" against n1-standard-4).
    pub fn check_machine_size(
        &self,
        request: &DeploymentRequest,
        catalog: &Catalog,
    ) -> Vec<ValidationError> {
        let Some(stated) = self.machine_size.first() else {
            return Vec::new();
        };
        let Some(machine) = catalog.machine_type(&request.machine_type) else {
            return Vec::new();
        };
        if stated.value.fits(machine.vcpus, machine.memory_gb) {
            return Vec::new();
        }
        vec![ValidationError::new(
            "machine_type",
            &request.machine_type,
            format!(
                "machine type {} has {} vCPUs and {} GB of memory, less than the {} per VM the request asks for (\"{}\"); name a larger machine type, or leave it open",
                machine.name, machine.vcpus, machine.memory_gb, stated.value, stated.written
            ),
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(text: &str) -> Option<MachineSize> {
        find(text).0.first().map(|m| m.value)
    }

    #[test]
    fn vcpus_and_ram_are_read_as_the_least_per_vm() {
        let both = MachineSize {
            vcpus: Some(32),
            memory_gb: Some(128),
        };
        assert_eq!(
            size("2 L4 VMs with 32 vCPUs and 128GB RAM each"),
            Some(both)
        );
        assert_eq!(size("vCPUs: 32\nRAM: 128 GB"), Some(both));
        assert_eq!(
            size("16 cores, 64 GB of system memory").and_then(|s| s.vcpus),
            Some(16)
        );
        assert_eq!(size("RAM 1TB").and_then(|s| s.memory_gb), Some(1000));
        assert_eq!(size("8 CPUs or 16 CPUs").and_then(|s| s.vcpus), Some(16));
    }

    #[test]
    fn gpu_memory_and_gpu_cores_are_not_the_vms() {
        assert_eq!(size("a GPU with 24GB memory"), None);
        assert_eq!(size("T4 has 2560 CUDA cores"), None);
        assert_eq!(size("0 cores"), None);
    }

    #[test]
    fn another_machines_size_is_named_not_read() {
        // The laptop's size chose the plan's machine type (n1-standard-8).
        let (read, notes) = find("Our laptop has 8 cores and 16GB RAM, too slow; need a T4 VM");
        assert!(read.is_empty(), "{read:?}");
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(
            notes[0].contains("\"8 cores\" is said of another machine"),
            "{notes:?}"
        );
        // The next sentence's size is the VMs'.
        let (read, _) = find("Currently on 8 vCPUs. Need 2 T4 VMs with 16 vCPUs each.");
        assert_eq!(read.first().and_then(|m| m.value.vcpus), Some(16));
        // Another clause's, or one that asks for the VMs, is the VMs'.
        for text in [
            "Need 2 T4 VMs with 16 cores and 64GB RAM, our laptops are too slow",
            "Need a T4 VM with 16 cores like my laptop",
        ] {
            assert_eq!(
                find(text).0.first().and_then(|m| m.value.vcpus),
                Some(16),
                "{text:?}"
            );
        }
    }
}

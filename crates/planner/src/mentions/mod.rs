//! What the user wrote explicitly: counts, GPU type, region or zone, machine type, disk size.
//!
//! The planners must honour these values: a plan that contradicts one is refused with a
//! message quoting the user's words, and a name the catalog does not know is an error.
//!
//! How GPU counts are read:
//! - "2 GPUs each", "2 GPUs per VM", "each with 2 GPUs", "4 VMs with 2 GPUs", "a 2-GPU VM"
//!   are GPUs **per VM**;
//! - any other GPU count ("5 T4 GPUs", "8 GPUs in total") is the **total** over all VMs.
//!   A plan satisfies a total N when vm_count × gpu_count = N. When nothing else is said,
//!   the offline planner reads a total N as N VMs with one GPU each (or, for GPUs that come
//!   in fixed groups, the fewest GPUs per VM that divides N).
//!
//! Each field may hold several distinct values when the text names several ("us-west1 or
//! us-central1"): `check` accepts any of them, and the offline planner refuses to guess.
//!
//! Understood: counts in digits and words ("5", "five", "twenty-one", "a dozen", "a couple
//! of", "half a dozen", "2x"), VM nouns (VMs, machines, instances, nodes, servers, hosts,
//! boxes, replicas), "N GPUs each / per VM / a VM / apiece", "each with N", "VMs with N",
//! "N-GPU VM", "8x H100 node", form lines ("VMs: 3", "GPUs per VM: 2", "vm_count = 4"),
//! catalog GPU spellings and plurals ("T4s", "a100 80gb", "A100-80GB", "nvidia tesla v100"),
//! regions, zones, machine types, and disk sizes next to "disk"/"storage"/"SSD"/"boot".
//!
//! Not understood (nothing is read, so the planner falls back to defaults or, on edits, to
//! the current values): relative changes ("2 more VMs", "double the GPUs", "one fewer
//! VM"); places instead of regions ("in Oregon", "in Europe"); requirements instead of a
//! GPU ("24 GB of GPU memory", "the cheapest GPU", "enough for a 70B model"); ranges and
//! fractions ("3-5 VMs", "half a GPU", "2.5 VMs"); a zone letter alone ("zone b"); vCPU
//! and RAM sizes; disk types; durations and schedules; spot/preemptible. Approximations
//! are read as exact ("about 4 VMs" is 4). A count of other things next to a VM noun is
//! misread ("5 users each with a T4 VM" is read as 1 VM), and memory written apart from
//! the GPU name ("A100 with 80GB") selects the 40 GB A100.

mod names;
mod scan;
mod tokens;

use promptops_core::{Catalog, DeploymentRequest, ValidationError, ValidationErrors};

use crate::PlanInput;

/// A value and the words it was read from ("5 t4 gpus").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mentioned<T> {
    pub value: T,
    pub written: String,
}

/// Every value the user stated explicitly, each field holding distinct values in the order
/// they were written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mentions {
    pub vm_count: Vec<Mentioned<u32>>,
    pub gpus_per_vm: Vec<Mentioned<u32>>,
    pub total_gpus: Vec<Mentioned<u32>>,
    /// Catalog GPU ids ("nvidia-tesla-t4").
    pub gpu_type: Vec<Mentioned<String>>,
    pub region: Vec<Mentioned<String>>,
    pub zone: Vec<Mentioned<String>>,
    pub machine_type: Vec<Mentioned<String>>,
    pub boot_disk_size_gb: Vec<Mentioned<u32>>,
}

fn push<T: PartialEq>(list: &mut Vec<Mentioned<T>>, value: T, written: String) {
    if !list.iter().any(|m| m.value == value) {
        list.push(Mentioned { value, written });
    }
}

impl Mentions {
    /// Reads one text. Names that look like a region, zone, GPU or machine type but are not
    /// in the catalog are returned as errors, all at once.
    pub fn extract(text: &str, catalog: &Catalog) -> Result<Mentions, ValidationErrors> {
        let (mentions, errors) = scan::scan(text, catalog);
        if errors.is_empty() {
            Ok(mentions)
        } else {
            Err(ValidationErrors(errors))
        }
    }

    /// The mentions of a whole request: the issue (title and body), overridden by the
    /// comment's instructions group by group (counts, GPU and machine type, location, disk),
    /// so that "/promptops plan use 3 VMs" replaces the issue's "5 VMs".
    pub fn for_input(input: &PlanInput, catalog: &Catalog) -> Result<Mentions, ValidationErrors> {
        let issue_text = format!("{}\n{}", input.title, input.body);
        let issue = Mentions::extract(&issue_text, catalog);
        let comment = Mentions::extract(&input.instructions, catalog);
        match (issue, comment) {
            (Ok(issue), Ok(comment)) => Ok(issue.overridden_by(comment)),
            (Err(a), Err(b)) => Err(ValidationErrors(a.0.into_iter().chain(b.0).collect())),
            (Err(errors), _) | (_, Err(errors)) => Err(errors),
        }
    }

    /// `later` replaces this text's values group by group where it says anything.
    pub fn overridden_by(mut self, later: Mentions) -> Mentions {
        if !(later.vm_count.is_empty()
            && later.gpus_per_vm.is_empty()
            && later.total_gpus.is_empty())
        {
            self.vm_count = later.vm_count;
            self.gpus_per_vm = later.gpus_per_vm;
            self.total_gpus = later.total_gpus;
        }
        if !(later.gpu_type.is_empty() && later.machine_type.is_empty()) {
            self.gpu_type = later.gpu_type;
            self.machine_type = later.machine_type;
        }
        if !(later.region.is_empty() && later.zone.is_empty()) {
            self.region = later.region;
            self.zone = later.zone;
        }
        if !later.boot_disk_size_gb.is_empty() {
            self.boot_disk_size_gb = later.boot_disk_size_gb;
        }
        self
    }

    pub fn is_empty(&self) -> bool {
        *self == Mentions::default()
    }

    /// One error per explicit value the plan contradicts ("you asked for 5 VMs; the plan has 3").
    pub fn check(&self, request: &DeploymentRequest) -> Vec<ValidationError> {
        let mut errors = Vec::new();
        let total = u64::from(request.vm_count) * u64::from(request.gpu_count);
        let mut expect = |field: &str, ok: bool, said: String, has: String| {
            if !ok {
                let message = format!("you asked for {said}; the plan has {has}");
                errors.push(ValidationError::with_raw_value(field, has, message));
            }
        };
        if !self.vm_count.is_empty() {
            let ok = self.vm_count.iter().any(|m| m.value == request.vm_count);
            expect(
                "vm_count",
                ok,
                quoted(&self.vm_count),
                format!("{} VMs", request.vm_count),
            );
        }
        if !self.gpus_per_vm.is_empty() {
            let ok = self
                .gpus_per_vm
                .iter()
                .any(|m| m.value == request.gpu_count);
            let has = format!("{} GPUs per VM", request.gpu_count);
            expect("gpu_count", ok, quoted(&self.gpus_per_vm), has);
        }
        if !self.total_gpus.is_empty() {
            let ok = self.total_gpus.iter().any(|m| u64::from(m.value) == total);
            let has = format!(
                "{total} GPUs in total ({} VMs × {} GPUs)",
                request.vm_count, request.gpu_count
            );
            expect("gpu_count", ok, quoted(&self.total_gpus), has);
        }
        if !self.gpu_type.is_empty() {
            let ok = self.gpu_type.iter().any(|m| m.value == request.gpu_type);
            expect(
                "gpu_type",
                ok,
                quoted(&self.gpu_type),
                request.gpu_type.clone(),
            );
        }
        if !self.machine_type.is_empty() {
            let ok = self
                .machine_type
                .iter()
                .any(|m| m.value == request.machine_type);
            expect(
                "machine_type",
                ok,
                quoted(&self.machine_type),
                request.machine_type.clone(),
            );
        }
        if !self.zone.is_empty() {
            let ok = self.zone.iter().any(|m| m.value == request.zone);
            expect(
                "zone",
                ok,
                quoted(&self.zone),
                format!("zone {}", request.zone),
            );
        }
        if !self.region.is_empty() {
            let ok = self.region.iter().any(|m| m.value == request.region());
            expect(
                "region",
                ok,
                quoted(&self.region),
                format!("region {}", request.region()),
            );
        }
        if !self.boot_disk_size_gb.is_empty() {
            let ok = self
                .boot_disk_size_gb
                .iter()
                .any(|m| m.value == request.boot_disk_size_gb);
            let has = format!("a {} GB boot disk", request.boot_disk_size_gb);
            expect(
                "boot_disk_size_gb",
                ok,
                quoted(&self.boot_disk_size_gb),
                has,
            );
        }
        errors
    }

    /// One line per stated value, in the user's words and as a field value, for the model:
    /// `vm_count 5 ("5 vms")`.
    pub fn summary(&self) -> Vec<String> {
        fn numbers(list: &[Mentioned<u32>]) -> Vec<(String, &str)> {
            list.iter()
                .map(|m| (m.value.to_string(), m.written.as_str()))
                .collect()
        }
        fn names(list: &[Mentioned<String>]) -> Vec<(String, &str)> {
            list.iter()
                .map(|m| (m.value.clone(), m.written.as_str()))
                .collect()
        }
        let groups = [
            ("vm_count", numbers(&self.vm_count)),
            ("gpu_count (per VM)", numbers(&self.gpus_per_vm)),
            (
                "vm_count x gpu_count (GPUs in total)",
                numbers(&self.total_gpus),
            ),
            ("gpu_type", names(&self.gpu_type)),
            ("machine_type", names(&self.machine_type)),
            ("zone", names(&self.zone)),
            ("region", names(&self.region)),
            ("boot_disk_size_gb", numbers(&self.boot_disk_size_gb)),
        ];
        groups
            .into_iter()
            .filter(|(_, items)| !items.is_empty())
            .map(|(label, items)| {
                items
                    .into_iter()
                    .map(|(value, written)| format!("{label} {value} (\"{written}\")"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            })
            .collect()
    }

    /// One error per field that holds more than one value, and for a zone outside the
    /// region also named. A planner that cannot ask back (the offline one) refuses these.
    pub fn ambiguities(&self) -> Vec<ValidationError> {
        let mut errors = Vec::new();
        let mut several = |field: &str, written: Vec<&str>| {
            if written.len() > 1 {
                errors.push(ValidationError {
                    field: field.to_owned(),
                    value: written.join(" / "),
                    message: format!(
                        "the request names more than one {field}: {}; name exactly one",
                        written
                            .iter()
                            .map(|w| format!("\"{w}\""))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            }
        };
        several("vm_count", writings(&self.vm_count));
        several("gpus per VM", writings(&self.gpus_per_vm));
        several("total GPU count", writings(&self.total_gpus));
        several("gpu_type", writings(&self.gpu_type));
        several("region", writings(&self.region));
        several("zone", writings(&self.zone));
        several("machine_type", writings(&self.machine_type));
        several("boot_disk_size_gb", writings(&self.boot_disk_size_gb));
        if let ([zone], [region]) = (self.zone.as_slice(), self.region.as_slice())
            && !zone.value.starts_with(&format!("{}-", region.value))
        {
            errors.push(ValidationError {
                field: "zone".to_owned(),
                value: zone.value.clone(),
                message: format!(
                    "zone {} is not in region {}, which the request also names; name one location",
                    zone.value, region.value
                ),
            });
        }
        errors
    }

    pub(crate) fn push_vm_count(&mut self, value: u32, written: String) {
        push(&mut self.vm_count, value, written);
    }
    pub(crate) fn push_gpus_per_vm(&mut self, value: u32, written: String) {
        push(&mut self.gpus_per_vm, value, written);
    }
    pub(crate) fn push_gpu_total(&mut self, value: u32, written: String) {
        push(&mut self.total_gpus, value, written);
    }
    pub(crate) fn push_gpu_type(&mut self, id: String, written: String) {
        push(&mut self.gpu_type, id, written);
    }
    pub(crate) fn push_region(&mut self, region: String, written: String) {
        push(&mut self.region, region, written);
    }
    pub(crate) fn push_zone(&mut self, zone: String, written: String) {
        push(&mut self.zone, zone, written);
    }
    pub(crate) fn push_machine_type(&mut self, machine: String, written: String) {
        push(&mut self.machine_type, machine, written);
    }
    pub(crate) fn push_disk(&mut self, gb: u32, written: String) {
        push(&mut self.boot_disk_size_gb, gb, written);
    }
}

fn writings<T>(list: &[Mentioned<T>]) -> Vec<&str> {
    list.iter().map(|m| m.written.as_str()).collect()
}

/// `"5 vms"` or `"5 vms" or "3 vms"`.
fn quoted<T>(list: &[Mentioned<T>]) -> String {
    list.iter()
        .map(|m| format!("\"{}\"", m.written))
        .collect::<Vec<_>>()
        .join(" or ")
}

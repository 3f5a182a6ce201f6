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
//! Also understood (each reading is stated in the plan's assumptions):
//! - places instead of regions ("in Oregon", "Northern Virginia", "São Paulo"; the catalog's
//!   `places`), and areas ("in Europe", "in the US"; the catalog's `areas`), for which the
//!   offline planner takes the first region of the area offering the GPU;
//! - places ruled out ("anywhere except Europe", "not in us-east1", "outside the US", "from
//!   us-west1 to us-east1"), which are not read as the place to plan; the plan must stay out
//!   of them, and the offline planner passes over them when it picks a region
//!   (`scan/excluded.rs`);
//! - GPU memory: "A100 with 80GB" / "80GB A100" pick the 80 GB A100; "24GB of GPU memory",
//!   "at least 40GB VRAM", "a GPU with 24GB" and "the cheapest GPU" are requirements: the
//!   cheapest GPU that meets them (and that the region offers) is planned;
//! - approximations ("about 4 VMs" is 4), minimums ("at least 4 VMs" is 4) and ranges
//!   ("3-5 VMs", "3 to 5 VMs", "between 3 and 5 VMs", "3 or 4 VMs": the lower bound, which
//!   keeps the cost down; any value in the range satisfies `check`);
//! - "5 users each with a T4 VM" is 5 VMs; "upgrade to 4 GPUs" is 4 GPUs per VM;
//! - relative changes of an existing deployment ("add 2 more VMs", "one less VM", "remove 1
//!   VM", "double the GPUs" (per VM), "halve the VMs"): applied to `PlanInput::current`;
//!   without a current deployment they are refused as unclear ("add 2 VMs" to nothing is 2);
//! - a zone letter ("zone b") with the region named or kept from the current deployment;
//! - corrections ("2 T4 VMs, no wait, 3", "us-west1, actually us-east1"), which replace what
//!   they name (`corrections.rs`), and VMs listed item by item ("a T4 VM for me and one for
//!   Bob"), which add up (`scan/listed.rs`).
//!
//! Any token shaped like a Google Cloud region or zone ("mars-north1", "us-mars1-a") that the
//! catalog lacks is an error listing the known regions.
//!
//! Also read (stated as readings): thousands separators ("1,010 VMs" is 1010), look-alike
//! letters of other scripts ("Т4" with a Cyrillic "Т"), number words in German, French and
//! Spanish, Japanese and Chinese counters (台 machines, 枚/基 GPUs; 两 is 2), "A100 x 4" and
//! "T4 x3" (GPUs), vague quantities ("a few VMs" is 3),
//! names asked for ("name it llm-finetune"), GPUs named for comparison ("compared to A100"),
//! the cheaper or faster of named GPUs, model sizes ("a 70B model": GPU memory per VM), "the
//! biggest single node", and GPUs or instance types of other clouds named as a reference
//! (the catalog's `reference_gpus` and `other_cloud_instances`).
//!
//! Refused as errors: negative numbers, fractional counts ("2.5 VMs", "1.5 A100", "½ A100",
//! "0.5 T4 each", "A100 x 1.5", "half a GPU"), numbers in scientific notation ("1e3 VMs"), counts of 0,
//! numbers too long to be any count, and names that break the deployment-name rule.
//!
//! Not read here (the planner's screening lists them as not used): disk types, images, durations and schedules, spot/preemptible.

mod budget;
mod code_blocks;
mod contradictions;
mod corrections;
mod deployment_name;
mod machine_size;
mod names;
mod needs;
mod normalise;
mod references;
mod scan;
mod summary;
mod tokens;
mod unknown_places;

mod relative;

use promptops_core::{Area, Catalog, ValidationError, ValidationErrors};

use crate::PlanInput;
pub use budget::{Budget, Period};
pub use machine_size::MachineSize;

pub(crate) use corrections::number_corrections;
pub use needs::ModelMemory;
pub use relative::{Change, CountField};
pub(crate) use scan::request_text;
pub(crate) use tokens::parse_count;

/// A value and the words it was read from ("5 t4 gpus").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mentioned<T> {
    pub value: T,
    pub written: String,
    /// The upper end of a range ("3-5 vms": value 3, upper 5); any value in between
    /// satisfies `check`.
    pub upper: Option<T>,
    /// How the words were read when that took a decision ("about 4" read as 4), for the
    /// plan's assumptions.
    pub reading: Option<String>,
}

impl<T> Mentioned<T> {
    pub fn new(value: T, written: impl Into<String>) -> Self {
        Mentioned {
            value,
            written: written.into(),
            upper: None,
            reading: None,
        }
    }

    pub fn with_reading(mut self, reading: impl Into<String>) -> Self {
        self.reading = Some(reading.into());
        self
    }
}

impl Mentioned<u32> {
    fn accepts(&self, value: u32) -> bool {
        value >= self.value && value <= self.upper.unwrap_or(self.value)
    }
}

/// What a GPU must offer when the request describes it instead of naming it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpuRequirement {
    /// "24GB of GPU memory", "at least 40GB VRAM".
    pub min_memory_gb: Option<u32>,
    /// "the cheapest GPU".
    pub cheapest: bool,
    /// Catalog GPU ids that meet the requirement, cheapest per GPU-hour first.
    pub satisfying: Vec<String>,
}

/// What a place the request rules out covers ("except Europe": Europe's regions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Excluded {
    Regions(Vec<String>),
    Zone(String),
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
    /// Areas named instead of a region ("in Europe").
    pub area: Vec<Mentioned<Area>>,
    /// A GPU described by memory or price instead of by name (at most one, merged).
    pub gpu_requirement: Vec<Mentioned<GpuRequirement>>,
    /// Relative changes of the current deployment ("add 2 more VMs"); `for_input` turns them
    /// into counts.
    pub changes: Vec<Mentioned<Change>>,
    /// A zone letter without its region ("zone b"); `for_input` turns it into a zone.
    pub zone_letter: Vec<Mentioned<char>>,
    /// Phrases that were read but cannot be planned as written, each saying what to write
    /// instead. Reported by `ambiguities`.
    pub unclear: Vec<ValidationError>,
    /// Deployment names asked for ("name it llm-finetune").
    pub name: Vec<Mentioned<String>>,
    /// How the text itself was read (look-alike letters, thousands separators, GPUs named
    /// for comparison), for the plan's assumptions.
    pub notices: Vec<String>,
    /// Quantities that say no number ("some GPUs"): refused when no count is stated at all.
    pub unquantified: Vec<String>,
    /// A model size to fit ("a 70B model"), as GPU memory per VM.
    pub model_memory: Vec<Mentioned<ModelMemory>>,
    /// "the biggest single node": the words, when the request asks for the largest machine.
    pub biggest: Vec<String>,
    /// Places ruled out ("not in us-east1", "anywhere except Europe"): the plan must not be
    /// in any of them.
    pub excluded: Vec<Mentioned<Excluded>>,
    /// Budgets ("budget under $1/hour"): the plan's estimate must not be over any.
    pub budget: Vec<Mentioned<Budget>>,
    /// The least each VM must have ("32 vCPUs", "128GB RAM"): at most one, merged.
    pub machine_size: Vec<Mentioned<MachineSize>>,
    /// "as few VMs as possible": the words, when GPUs in total are to be packed into as
    /// few VMs as the GPU allows.
    pub fewest_vms: Vec<String>,
}

fn push<T: PartialEq>(list: &mut Vec<Mentioned<T>>, mentioned: Mentioned<T>) {
    if !list.iter().any(|m| m.value == mentioned.value) {
        list.push(mentioned);
    }
}

impl Mentions {
    /// Reads one text. Names that look like a region, zone, GPU or machine type but are not
    /// in the catalog are returned as errors, all at once.
    pub fn extract(text: &str, catalog: &Catalog) -> Result<Mentions, ValidationErrors> {
        let (mentions, errors) = corrections::scan_corrected(text, catalog);
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
        let (mentions, errors) = Mentions::read(input, catalog);
        if errors.is_empty() {
            Ok(mentions)
        } else {
            Err(ValidationErrors(errors))
        }
    }

    /// As `for_input`, keeping what could be read beside what could not, so that a planner
    /// can report every problem of a request at once.
    pub fn read(input: &PlanInput, catalog: &Catalog) -> (Mentions, Vec<ValidationError>) {
        let issue_text = format!("{}\n{}", input.title, input.body);
        let (issue, mut errors) = corrections::scan_corrected(&issue_text, catalog);
        let (comment, comment_errors) =
            corrections::scan_corrected_after(&input.instructions, Some(&issue), catalog);
        errors.extend(comment_errors);
        let mut merged = issue.overridden_by(comment);
        relative::apply(&mut merged, input.current.as_ref(), catalog);
        (merged, errors)
    }

    /// The sentences saying how phrases were read ("about 4 VMs" read as 4), for the values
    /// a planner uses (the first of each field).
    pub fn readings(&self) -> Vec<String> {
        let mut out = self.notices.clone();
        let mut add = |reading: Option<&String>| {
            if let Some(reading) = reading
                && !out.contains(reading)
            {
                out.push(reading.clone());
            }
        };
        for list in [
            &self.vm_count,
            &self.gpus_per_vm,
            &self.total_gpus,
            &self.boot_disk_size_gb,
        ] {
            add(list.first().and_then(|m| m.reading.as_ref()));
        }
        for list in [&self.gpu_type, &self.region, &self.zone, &self.machine_type] {
            add(list.first().and_then(|m| m.reading.as_ref()));
        }
        add(self.area.first().and_then(|m| m.reading.as_ref()));
        add(self.budget.first().and_then(|m| m.reading.as_ref()));
        add(self
            .gpu_requirement
            .first()
            .and_then(|m| m.reading.as_ref()));
        out
    }

    /// `later` replaces this text's values group by group where it says anything.
    pub fn overridden_by(mut self, later: Mentions) -> Mentions {
        if !(later.vm_count.is_empty()
            && later.gpus_per_vm.is_empty()
            && later.total_gpus.is_empty()
            && later.changes.is_empty())
        {
            self.vm_count = later.vm_count;
            self.gpus_per_vm = later.gpus_per_vm;
            self.total_gpus = later.total_gpus;
            self.changes = later.changes;
        }
        if !(later.gpu_type.is_empty()
            && later.machine_type.is_empty()
            && later.gpu_requirement.is_empty())
        {
            self.gpu_type = later.gpu_type;
            self.machine_type = later.machine_type;
            self.gpu_requirement = later.gpu_requirement;
        }
        if !(later.region.is_empty()
            && later.zone.is_empty()
            && later.area.is_empty()
            && later.zone_letter.is_empty())
        {
            // A zone letter alone ("zone b") keeps the issue's region.
            if !(later.region.is_empty() && later.zone.is_empty() && later.area.is_empty()) {
                self.region = later.region;
                self.area = later.area;
            }
            self.zone = later.zone;
            self.zone_letter = later.zone_letter;
        }
        // Ruled-out places add up: a comment naming one does not lift the issue's.
        self.excluded.extend(later.excluded);
        self.unclear.extend(later.unclear);
        self.notices.extend(later.notices);
        self.unquantified.extend(later.unquantified);
        if !(later.model_memory.is_empty() && later.biggest.is_empty()) {
            self.model_memory = later.model_memory;
            self.biggest = later.biggest;
        }
        if !later.name.is_empty() {
            self.name = later.name;
        }
        if !later.boot_disk_size_gb.is_empty() {
            self.boot_disk_size_gb = later.boot_disk_size_gb;
        }
        if !later.budget.is_empty() {
            self.budget = later.budget;
        }
        if !later.machine_size.is_empty() {
            self.machine_size = later.machine_size;
        }
        if !later.fewest_vms.is_empty() {
            self.fewest_vms = later.fewest_vms;
        }
        self
    }

    pub fn is_empty(&self) -> bool {
        *self == Mentions::default()
    }

    /// The regions the request rules out ("not in us-east1", "anywhere except Europe").
    pub fn ruled_out_regions(&self) -> Vec<&str> {
        self.excluded
            .iter()
            .filter_map(|m| match &m.value {
                Excluded::Regions(regions) => Some(regions.iter().map(String::as_str)),
                Excluded::Zone(_) => None,
            })
            .flatten()
            .collect()
    }

    /// Whether any count was read: of VMs, of GPUs per VM or of GPUs in total.
    pub fn states_a_count(&self) -> bool {
        !(self.vm_count.is_empty() && self.gpus_per_vm.is_empty() && self.total_gpus.is_empty())
    }

    /// One error per field that holds more than one value, and for a zone outside the
    /// region also named. A planner that cannot ask back (the offline one) refuses these.
    pub fn ambiguities(&self) -> Vec<ValidationError> {
        let mut errors = Vec::new();
        let mut several = |field: &str, written: Vec<&str>| {
            if written.len() > 1 {
                let why = why_one_of(field);
                errors.push(ValidationError {
                    field: field.to_owned(),
                    value: written.join(" / "),
                    message: format!(
                        "the request names more than one {field}: {}; name exactly one{why}",
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
        several("area", writings(&self.area));
        several("name", writings(&self.name));
        if let Some(area) = self.area.first() {
            for region in &self.region {
                if !area.value.regions.contains(&region.value) {
                    errors.push(ValidationError::new(
                        "region",
                        &region.value,
                        format!(
                            "region {} is not in {} (\"{}\"), which the request also names; its regions: {}",
                            region.value,
                            area.value.name,
                            area.written,
                            area.value.regions.join(", ")
                        ),
                    ));
                }
            }
        }
        if let Some(requirement) = self.gpu_requirement.first() {
            for gpu in &self.gpu_type {
                if !requirement.value.satisfying.contains(&gpu.value) {
                    errors.push(ValidationError::new(
                        "gpu_type",
                        &gpu.value,
                        format!(
                            "\"{}\" does not meet \"{}\"; GPUs that do: {}",
                            gpu.written,
                            requirement.written,
                            requirement.value.satisfying.join(", ")
                        ),
                    ));
                }
            }
        }
        errors.extend(self.unclear.iter().cloned());
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
        push(&mut self.vm_count, Mentioned::new(value, written));
    }
    pub(crate) fn push_gpus_per_vm(&mut self, value: u32, written: String) {
        push(&mut self.gpus_per_vm, Mentioned::new(value, written));
    }
    pub(crate) fn push_gpu_total(&mut self, value: u32, written: String) {
        push(&mut self.total_gpus, Mentioned::new(value, written));
    }
    pub(crate) fn push_region(&mut self, region: String, written: String) {
        push(&mut self.region, Mentioned::new(region, written));
    }
    pub(crate) fn push_zone(&mut self, zone: String, written: String) {
        push(&mut self.zone, Mentioned::new(zone, written));
    }
    pub(crate) fn push_machine_type(&mut self, machine: String, written: String) {
        push(&mut self.machine_type, Mentioned::new(machine, written));
    }
    pub(crate) fn push_disk(&mut self, gb: u32, written: String) {
        push(&mut self.boot_disk_size_gb, Mentioned::new(gb, written));
    }
    /// A disk size with how it was read ("disk 300" names no unit: 300 GB).
    pub(crate) fn push_disk_read(&mut self, mentioned: Mentioned<u32>) {
        push(&mut self.boot_disk_size_gb, mentioned);
    }
    /// A count with how it was read: which list it goes to is `kind`.
    pub(crate) fn push_count(&mut self, kind: CountKind, mentioned: Mentioned<u32>) {
        let list = match kind {
            CountKind::Vms => &mut self.vm_count,
            CountKind::PerVm => &mut self.gpus_per_vm,
            CountKind::Total => &mut self.total_gpus,
        };
        push(list, mentioned);
    }
    pub(crate) fn push_region_read(&mut self, mentioned: Mentioned<String>) {
        push(&mut self.region, mentioned);
    }
    pub(crate) fn push_zone_read(&mut self, mentioned: Mentioned<String>) {
        push(&mut self.zone, mentioned);
    }
    pub(crate) fn push_gpu_type_read(&mut self, mentioned: Mentioned<String>) {
        push(&mut self.gpu_type, mentioned);
    }
    pub(crate) fn push_area(&mut self, mentioned: Mentioned<Area>) {
        push(&mut self.area, mentioned);
    }
    /// A place ruled out, said in the plan's assumptions.
    pub(crate) fn push_excluded(&mut self, mentioned: Mentioned<Excluded>) {
        let covers = match &mentioned.value {
            Excluded::Regions(regions) => regions.join(", "),
            Excluded::Zone(zone) => zone.clone(),
        };
        self.notices.push(format!(
            "\"{}\" is read as ruling out {covers}: the plan is not placed there",
            mentioned.written
        ));
        push(&mut self.excluded, mentioned);
    }
    /// Requirements of one text are merged: the largest memory minimum, cheapest if any says so.
    pub(crate) fn push_gpu_requirement(
        &mut self,
        mentioned: Mentioned<GpuRequirement>,
        catalog: &Catalog,
    ) {
        let merged = match self.gpu_requirement.pop() {
            None => mentioned,
            Some(earlier) => {
                let min_memory_gb = earlier
                    .value
                    .min_memory_gb
                    .max(mentioned.value.min_memory_gb);
                let cheapest = earlier.value.cheapest || mentioned.value.cheapest;
                let written = format!("{} / {}", earlier.written, mentioned.written);
                Mentioned::new(
                    GpuRequirement::new(min_memory_gb, cheapest, catalog),
                    written,
                )
            }
        };
        self.gpu_requirement.push(merged);
    }
}

/// Which count list a count goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CountKind {
    Vms,
    PerVm,
    Total,
}

impl GpuRequirement {
    /// The requirement and the catalog GPUs meeting it, cheapest per GPU-hour first.
    pub fn new(min_memory_gb: Option<u32>, cheapest: bool, catalog: &Catalog) -> Self {
        let mut gpus: Vec<&promptops_core::GpuType> = catalog
            .gpus()
            .iter()
            .filter(|g| min_memory_gb.is_none_or(|min| g.memory_gb >= min))
            .collect();
        gpus.sort_by(|a, b| a.usd_per_gpu_hour.total_cmp(&b.usd_per_gpu_hour));
        GpuRequirement {
            min_memory_gb,
            cheapest,
            satisfying: gpus.iter().map(|g| g.id.clone()).collect(),
        }
    }

    /// "a GPU with at least 24 GB of memory", "the cheapest GPU".
    pub fn describe(&self) -> String {
        match (self.min_memory_gb, self.cheapest) {
            (Some(min), true) => format!("the cheapest GPU with at least {min} GB of memory"),
            (Some(min), false) => format!("a GPU with at least {min} GB of memory"),
            (None, _) => "the cheapest GPU".to_owned(),
        }
    }
}

fn writings<T>(list: &[Mentioned<T>]) -> Vec<&str> {
    list.iter().map(|m| m.written.as_str()).collect()
}

/// `"5 vms"` or `"5 vms" or "3 vms"`.
/// Why a deployment takes one value of `field`, for the refusal of several. Two GPUs or
/// two places are alternatives ("T4 or L4") or two deployments asked for at once ("2 L4s +
/// 1 T4"): either way one deployment is not both.
fn why_one_of(field: &str) -> &'static str {
    match field {
        "gpu_type" | "machine_type" | "boot_disk_size_gb" => {
            "; all VMs of a deployment share one: pick one, or ask for the others in a request of their own"
        }
        "region" | "zone" => {
            "; a deployment's VMs are all in one zone: pick one, or ask for the others in a request of their own"
        }
        _ => "",
    }
}

fn quoted<T>(list: &[Mentioned<T>]) -> String {
    list.iter()
        .map(|m| format!("\"{}\"", m.written))
        .collect::<Vec<_>>()
        .join(" or ")
}

//! Holding a plan to the request: one error per explicit value the plan contradicts.

use promptops_core::{DeploymentRequest, ValidationError};

use super::{Excluded, Mentioned, Mentions, quoted};

/// The contradictions found so far, in the order the fields are checked.
#[derive(Default)]
struct Contradictions(Vec<ValidationError>);

impl Contradictions {
    /// Unless `ok`, records that the request said one of `said` and the plan has `has`.
    /// A field the request did not mention is never a contradiction.
    fn expect<T>(&mut self, field: &str, said: &[Mentioned<T>], ok: bool, has: String) {
        if said.is_empty() || ok {
            return;
        }
        let message = format!("you asked for {}; the plan has {has}", quoted(said));
        self.0
            .push(ValidationError::with_raw_value(field, has, message));
    }
}

impl Mentions {
    /// One error per explicit value the plan contradicts ("you asked for 5 VMs; the plan has 3").
    pub fn check(&self, request: &DeploymentRequest) -> Vec<ValidationError> {
        let mut found = Contradictions::default();
        self.check_counts(request, &mut found);
        self.check_hardware(request, &mut found);
        self.check_placement(request, &mut found);
        self.check_requirement_name_and_disk(request, &mut found);
        found.0
    }

    /// VMs, GPUs per VM, and GPUs in total (any count within a stated range satisfies).
    fn check_counts(&self, request: &DeploymentRequest, found: &mut Contradictions) {
        let ok = self.vm_count.iter().any(|m| m.accepts(request.vm_count));
        let has = format!("{} VMs", request.vm_count);
        found.expect("vm_count", &self.vm_count, ok, has);
        let ok = self
            .gpus_per_vm
            .iter()
            .any(|m| m.accepts(request.gpu_count));
        let has = format!("{} GPUs per VM", request.gpu_count);
        found.expect("gpu_count", &self.gpus_per_vm, ok, has);
        let total = u64::from(request.vm_count) * u64::from(request.gpu_count);
        let ok = self
            .total_gpus
            .iter()
            .any(|m| u64::from(m.value) <= total && total <= u64::from(m.upper.unwrap_or(m.value)));
        let has = format!(
            "{total} GPUs in total ({} VMs × {} GPUs)",
            request.vm_count, request.gpu_count
        );
        found.expect("gpu_count", &self.total_gpus, ok, has);
    }

    /// The GPU and machine types named.
    fn check_hardware(&self, request: &DeploymentRequest, found: &mut Contradictions) {
        let ok = self.gpu_type.iter().any(|m| m.value == request.gpu_type);
        found.expect("gpu_type", &self.gpu_type, ok, request.gpu_type.clone());
        let ok = self
            .machine_type
            .iter()
            .any(|m| m.value == request.machine_type);
        let has = request.machine_type.clone();
        found.expect("machine_type", &self.machine_type, ok, has);
    }

    /// The zone, region or area named.
    fn check_placement(&self, request: &DeploymentRequest, found: &mut Contradictions) {
        let ok = self.zone.iter().any(|m| m.value == request.zone);
        let has = format!("zone {}", request.zone);
        found.expect("zone", &self.zone, ok, has);
        let region = request.region();
        let ok = self.region.iter().any(|m| m.value == region);
        found.expect("region", &self.region, ok, format!("region {region}"));
        let ok = self
            .area
            .iter()
            .any(|m| m.value.regions.iter().any(|r| r == region));
        found.expect("region", &self.area, ok, format!("region {region}"));
        for excluded in &self.excluded {
            let (ruled_out, has) = match &excluded.value {
                Excluded::Regions(regions) => (
                    regions.iter().any(|r| r == region),
                    format!("region {region}"),
                ),
                Excluded::Zone(zone) => (*zone == request.zone, format!("zone {zone}")),
            };
            if ruled_out {
                let message = format!(
                    "the request rules out {} (\"{}\"); the plan has {has}: name the region to plan in (e.g. \"in us-west1\")",
                    has, excluded.written
                );
                found
                    .0
                    .push(ValidationError::with_raw_value("region", has, message));
            }
        }
    }

    /// A GPU described instead of named, the deployment's name and its boot disk size.
    fn check_requirement_name_and_disk(
        &self,
        request: &DeploymentRequest,
        found: &mut Contradictions,
    ) {
        let ok = self
            .gpu_requirement
            .iter()
            .all(|m| m.value.satisfying.contains(&request.gpu_type));
        let has = request.gpu_type.clone();
        found.expect("gpu_type", &self.gpu_requirement, ok, has);
        let ok = self.name.iter().any(|m| m.value == request.name);
        let has = format!("the name {}", request.name);
        found.expect("name", &self.name, ok, has);
        let ok = self
            .boot_disk_size_gb
            .iter()
            .any(|m| m.accepts(request.boot_disk_size_gb));
        let has = format!("a {} GB boot disk", request.boot_disk_size_gb);
        found.expect("boot_disk_size_gb", &self.boot_disk_size_gb, ok, has);
    }
}

//! Consistency checks run on every catalog before it is used, so that a bad edit of the
//! data file fails at load time with a list of what is wrong, not later in a request.

use std::collections::{BTreeMap, BTreeSet};

use crate::catalog::{Catalog, GpuAttachment, alias_keys, place_key};

/// The most GPUs any machine type carries on Google Cloud (a2-megagpu-16g).
const MAX_GPUS_PER_MACHINE: u32 = 16;

/// Every inconsistency found in the catalog (empty when it is sound).
pub(crate) fn problems(catalog: &Catalog) -> Vec<String> {
    let mut problems = Vec::new();
    check_header(catalog, &mut problems);
    check_regions(catalog, &mut problems);
    check_places_and_areas(catalog, &mut problems);
    check_gpus(catalog, &mut problems);
    check_machine_types(catalog, &mut problems);
    check_attached_defaults(catalog, &mut problems);
    crate::references::problems(catalog, &mut problems);
    problems
}

fn check_header(catalog: &Catalog, problems: &mut Vec<String>) {
    let date = catalog.prices_as_of();
    let is_date = date.len() == 10
        && date.char_indices().all(|(i, c)| match i {
            4 | 7 => c == '-',
            _ => c.is_ascii_digit(),
        });
    if !is_date {
        problems.push(format!("prices_as_of {date:?} is not a YYYY-MM-DD date"));
    }
    if !catalog.is_known_region(catalog.default_region()) {
        problems.push(format!(
            "default_region {:?} is not one of the catalog's regions",
            catalog.default_region()
        ));
    }
    if catalog.gpu(catalog.default_gpu()).is_none() {
        problems.push(format!(
            "default_gpu {:?} is not one of the catalog's GPU types",
            catalog.default_gpu()
        ));
    }
    let disk = catalog.boot_disk();
    if disk.min_gb == 0 || disk.min_gb > disk.default_gb || disk.default_gb > disk.max_gb {
        problems.push(format!(
            "boot_disk bounds must satisfy 0 < min_gb <= default_gb <= max_gb (got min {}, default {}, max {})",
            disk.min_gb, disk.default_gb, disk.max_gb
        ));
    }
}

fn check_regions(catalog: &Catalog, problems: &mut Vec<String>) {
    if catalog.region_list().is_empty() {
        problems.push("no regions are listed".to_string());
    }
    let mut regions = BTreeSet::new();
    let mut zones = BTreeSet::new();
    for region in catalog.region_list() {
        if !regions.insert(region.name.as_str()) {
            problems.push(format!("region {:?} is listed twice", region.name));
        }
        if region.zones.is_empty() {
            problems.push(format!("region {:?} has no zones", region.name));
        }
        for zone in &region.zones {
            if !zones.insert(zone.as_str()) {
                problems.push(format!("zone {zone:?} is listed twice"));
            }
            let suffix_ok = zone
                .strip_prefix(region.name.as_str())
                .and_then(|rest| rest.strip_prefix('-'))
                .is_some_and(|letter| {
                    letter.len() == 1 && letter.chars().all(|c| c.is_ascii_lowercase())
                });
            if !suffix_ok {
                problems.push(format!(
                    "zone {zone:?} does not have the form {}-<letter>",
                    region.name
                ));
            }
        }
    }
}

/// Place and area names must each stand for one thing: a name used twice (or a place that is
/// also an area) would make a request's location depend on catalog order.
fn check_places_and_areas(catalog: &Catalog, problems: &mut Vec<String>) {
    let mut owner: BTreeMap<String, String> = BTreeMap::new();
    let mut claim = |name: &str, what: String, problems: &mut Vec<String>| {
        let key = place_key(name);
        if key.is_empty() {
            problems.push(format!("{what} has an empty place name {name:?}"));
            return;
        }
        if catalog.is_known_region(&key.replace(' ', "-"))
            || catalog.is_known_zone(&key.replace(' ', "-"))
        {
            problems.push(format!(
                "{what} lists {name:?} as a place, but it is a region or zone name"
            ));
        }
        match owner.get(&key) {
            Some(other) if *other != what => problems.push(format!(
                "place name {name:?} of {what} is also a name of {other}"
            )),
            Some(_) => problems.push(format!("{what} lists place name {name:?} twice")),
            None => {
                owner.insert(key, what);
            }
        }
    };
    for region in catalog.region_list() {
        for place in &region.places {
            claim(place, format!("region {:?}", region.name), problems);
        }
    }
    for other in catalog.other_regions() {
        if catalog.is_known_region(&other.name) {
            problems.push(format!(
                "other_regions lists {:?}, which is one of the catalog's regions",
                other.name
            ));
        }
        for place in &other.places {
            claim(place, format!("other region {:?}", other.name), problems);
        }
    }
    let mut area_names = BTreeSet::new();
    for area in catalog.areas() {
        if !area_names.insert(area.name.as_str()) {
            problems.push(format!("area {:?} is listed twice", area.name));
        }
        if area.names.is_empty() {
            problems.push(format!("area {:?} has no names", area.name));
        }
        for name in &area.names {
            claim(name, format!("area {:?}", area.name), problems);
        }
        if area.regions.is_empty() {
            problems.push(format!("area {:?} has no regions", area.name));
        }
        let mut seen = BTreeSet::new();
        for region in &area.regions {
            if !catalog.is_known_region(region) {
                problems.push(format!(
                    "area {:?} lists region {region:?}, which is not one of the catalog's regions",
                    area.name
                ));
            }
            if !seen.insert(region.as_str()) {
                problems.push(format!(
                    "area {:?} lists region {region:?} twice",
                    area.name
                ));
            }
        }
    }
}

fn check_gpus(catalog: &Catalog, problems: &mut Vec<String>) {
    if catalog.gpus().is_empty() {
        problems.push("no GPU types are listed".to_string());
    }
    let mut ids = BTreeSet::new();
    let mut spelling_owner: BTreeMap<String, &str> = BTreeMap::new();
    for gpu in catalog.gpus() {
        let id = gpu.id.as_str();
        if !ids.insert(id) {
            problems.push(format!("GPU type {id:?} is listed twice"));
        }
        if !(gpu.usd_per_gpu_hour.is_finite() && gpu.usd_per_gpu_hour > 0.0) {
            problems.push(format!(
                "GPU type {id:?} has price {} (must be a positive number)",
                gpu.usd_per_gpu_hour
            ));
        }
        if gpu.memory_gb == 0 {
            problems.push(format!("GPU type {id:?} has memory_gb 0"));
        }
        if gpu.zones.is_empty() {
            problems.push(format!("GPU type {id:?} is offered in no zone"));
        }
        let mut seen_zones = BTreeSet::new();
        for zone in &gpu.zones {
            if !catalog.is_known_zone(zone) {
                problems.push(format!(
                    "GPU type {id:?} lists zone {zone:?}, which is not a zone of any listed region"
                ));
            }
            if !seen_zones.insert(zone.as_str()) {
                problems.push(format!("GPU type {id:?} lists zone {zone:?} twice"));
            }
        }
        for spelling in [gpu.id.as_str(), gpu.name.as_str()]
            .into_iter()
            .chain(gpu.aliases.iter().map(String::as_str))
        {
            // The full key (first) must be unambiguous; prefix-stripped keys are looked up too,
            // so they must not collide either.
            for key in alias_keys(spelling) {
                match spelling_owner.get(&key) {
                    Some(owner) if *owner != id => problems.push(format!(
                        "spelling {spelling:?} of GPU type {id:?} is also a spelling of {owner:?}"
                    )),
                    _ => {
                        spelling_owner.insert(key, id);
                    }
                }
            }
        }
        check_gpu_attachment(catalog, gpu, problems);
    }
}

fn check_gpu_attachment(catalog: &Catalog, gpu: &crate::GpuType, problems: &mut Vec<String>) {
    let id = gpu.id.as_str();
    match &gpu.attachment {
        GpuAttachment::Attached { family, counts } => {
            if catalog.machine_types_in_family(family).is_empty() {
                problems.push(format!(
                    "GPU type {id:?} attaches to family {family:?}, which has no machine types"
                ));
            }
            if counts.is_empty() {
                problems.push(format!("GPU type {id:?} allows no GPU count"));
            }
            if counts.windows(2).any(|w| w[0] >= w[1])
                || counts.iter().any(|c| *c == 0 || *c > MAX_GPUS_PER_MACHINE)
            {
                problems.push(format!(
                    "GPU type {id:?} counts {counts:?} must be increasing and within 1..={MAX_GPUS_PER_MACHINE}"
                ));
            }
            if gpu.attached_max_vcpus.len() != counts.len() {
                problems.push(format!(
                    "GPU type {id:?} has {} attached_max_vcpus entries for {} counts",
                    gpu.attached_max_vcpus.len(),
                    counts.len()
                ));
            }
        }
        GpuAttachment::BuiltIn => {
            if catalog.machine_types_with_builtin(id).is_empty() {
                problems.push(format!(
                    "GPU type {id:?} is built in, but no machine type has it built in"
                ));
            }
            if !gpu.attached_max_vcpus.is_empty() {
                problems.push(format!(
                    "GPU type {id:?} is built in and must not list attached_max_vcpus"
                ));
            }
        }
    }
}

fn check_machine_types(catalog: &Catalog, problems: &mut Vec<String>) {
    let mut names = BTreeSet::new();
    for machine in catalog.machine_types() {
        let name = machine.name.as_str();
        if !names.insert(name) {
            problems.push(format!("machine type {name:?} is listed twice"));
        }
        if !name.starts_with(&format!("{}-", machine.family)) {
            problems.push(format!(
                "machine type {name:?} does not start with its family {:?}",
                machine.family
            ));
        }
        if machine.vcpus == 0 || !(machine.memory_gb.is_finite() && machine.memory_gb > 0.0) {
            problems.push(format!(
                "machine type {name:?} needs positive vcpus and memory_gb"
            ));
        }
        if !(machine.usd_per_hour.is_finite() && machine.usd_per_hour > 0.0) {
            problems.push(format!(
                "machine type {name:?} has price {} (must be a positive number)",
                machine.usd_per_hour
            ));
        }
        if let Some((gpu_id, count)) = &machine.builtin_gpu {
            match catalog.gpu(gpu_id) {
                None => problems.push(format!(
                    "machine type {name:?} has built-in GPU {gpu_id:?}, which is not a listed GPU type"
                )),
                Some(gpu) if !gpu.is_built_in() => problems.push(format!(
                    "machine type {name:?} has built-in GPU {gpu_id:?}, which the catalog lists as attached"
                )),
                Some(_) => {}
            }
            if *count == 0 || *count > MAX_GPUS_PER_MACHINE {
                problems.push(format!(
                    "machine type {name:?} has {count} built-in GPUs (allowed: 1..={MAX_GPUS_PER_MACHINE})"
                ));
            }
        }
    }
}

fn check_attached_defaults(catalog: &Catalog, problems: &mut Vec<String>) {
    for default in catalog.attached_defaults() {
        match catalog.machine_type(&default.machine_type) {
            None => problems.push(format!(
                "attached_defaults names machine type {:?}, which is not listed",
                default.machine_type
            )),
            Some(machine) if machine.builtin_gpu.is_some() => problems.push(format!(
                "attached_defaults names machine type {:?}, which has GPUs built in",
                default.machine_type
            )),
            Some(_) => {}
        }
    }
    // Every count an attached GPU allows needs a default machine type that fits its vCPU limit.
    for gpu in catalog.gpus() {
        let GpuAttachment::Attached { family, counts } = &gpu.attachment else {
            continue;
        };
        for count in counts {
            let default = catalog
                .attached_defaults()
                .iter()
                .find(|d| d.gpu_count == *count)
                .and_then(|d| catalog.machine_type(&d.machine_type));
            match default {
                None => problems.push(format!(
                    "GPU type {:?} allows {count} per VM, but attached_defaults has no machine type for {count} GPUs",
                    gpu.id
                )),
                Some(machine) => {
                    if &machine.family != family {
                        problems.push(format!(
                            "default machine type {:?} for {count} GPUs is not in family {family:?} of GPU type {:?}",
                            machine.name, gpu.id
                        ));
                    }
                    if let Some(max) = gpu.max_vcpus_for(*count)
                        && machine.vcpus > max
                    {
                        problems.push(format!(
                            "default machine type {:?} has {} vCPUs, more than the {max} allowed with {count} {:?}",
                            machine.name, machine.vcpus, gpu.id
                        ));
                    }
                }
            }
        }
    }
}

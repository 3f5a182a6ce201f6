//! Decisions the offline planner takes when the request describes instead of names: the
//! cheapest GPU meeting a requirement ("24GB of GPU memory", "the cheapest GPU") and the
//! region of an area ("in Europe"). Each decision comes with the sentence that states it in
//! the plan's assumptions; when nothing fits, the error says why and what would.

use promptops_core::{
    Area, Catalog, DeploymentDraft, DeploymentRequest, Policy, ValidationError, ValidationErrors,
    resolve,
};

use crate::PlanError;
use crate::mentions::{GpuRequirement, Mentioned, Mentions};

/// Where the request places the deployment when it names no region or zone: an area ("in
/// Europe") and the regions it rules out ("not in us-east1").
pub(crate) struct Wanted<'a> {
    pub area: Option<&'a Mentioned<Area>>,
    pub ruled_out: Vec<&'a str>,
}

impl<'a> Wanted<'a> {
    pub fn of(mentions: &'a Mentions) -> Self {
        Wanted {
            area: mentions.area.first(),
            ruled_out: mentions.ruled_out_regions(),
        }
    }
}

fn rejected(field: &str, value: &str, message: String) -> PlanError {
    PlanError::Rejected(ValidationErrors(vec![ValidationError::new(
        field, value, message,
    )]))
}

/// The GPU meeting `requirement` with the lowest estimated hourly cost for the deployment as
/// drafted (its counts, its region, area or the current region), and the assumption saying so.
pub(crate) fn cheapest_gpu(
    requirement: &Mentioned<GpuRequirement>,
    draft: &DeploymentDraft,
    wanted: &Wanted<'_>,
    current: Option<&DeploymentRequest>,
    catalog: &Catalog,
    policy: &Policy,
) -> Result<(String, String), PlanError> {
    let mut best: Option<(String, f64)> = None;
    let mut reasons = Vec::new();
    for id in &requirement.value.satisfying {
        if !policy.allows_gpu_type(id) {
            reasons.push(format!("{id} is not allowed by the policy"));
            continue;
        }
        let mut trial = draft.clone();
        trial.gpu_type = Some(id.clone());
        if trial.region.is_none() && trial.zone.is_none() {
            trial.region = match (wanted.area, current) {
                (Some(area), _) => match first_region_offering(area, id, wanted, catalog, policy) {
                    Some(region) => Some(region.to_owned()),
                    None => {
                        reasons.push(format!("{id} is not offered in {}", area.value.name));
                        continue;
                    }
                },
                (None, Some(current)) => Some(current.region().to_owned()),
                (None, None) => None,
            };
        }
        match resolve(trial, catalog, policy) {
            Ok(request) => {
                let hourly = catalog.estimate(&request).hourly_usd;
                if best.as_ref().is_none_or(|(_, cost)| hourly < *cost) {
                    best = Some((id.clone(), hourly));
                }
            }
            Err(errors) => {
                if let Some(first) = errors.iter().next() {
                    reasons.push(format!("{id}: {first}"));
                }
            }
        }
    }
    match best {
        Some((id, hourly)) => {
            let memory = catalog.gpu(&id).map_or(0, |g| g.memory_gb);
            let note = format!(
                "gpu_type {id} ({memory} GB): the cheapest GPU meeting \"{}\" ({}) that can be planned here, about {} per hour for the deployment",
                requirement.written,
                requirement.value.describe(),
                promptops_core::usd(hourly, 2)
            );
            Ok((id, note))
        }
        None => Err(rejected(
            "gpu_type",
            &requirement.written,
            format!(
                "no GPU meeting \"{}\" can be planned here: {}; name a GPU or another region",
                requirement.written,
                reasons.join("; ")
            ),
        )),
    }
}

fn first_region_offering<'a>(
    area: &'a Mentioned<Area>,
    gpu_id: &str,
    wanted: &Wanted<'_>,
    catalog: &Catalog,
    policy: &Policy,
) -> Option<&'a str> {
    let offering = catalog.regions_offering(gpu_id);
    area.value
        .regions
        .iter()
        .map(String::as_str)
        .find(|r| offering.contains(r) && policy.allows_region(r) && !wanted.ruled_out.contains(r))
}

/// When the request rules out the region a plan would default to ("not in us-central1"),
/// the first region offering the GPU that the policy allows and the request does not rule
/// out, and the assumption saying so. `None` when the default stands (or nothing else fits:
/// the plan is then refused for being in a region ruled out).
pub(crate) fn region_avoiding(
    wanted: &Wanted<'_>,
    gpu_id: &str,
    catalog: &Catalog,
    policy: &Policy,
) -> Option<(String, String)> {
    let default = catalog.default_region();
    if !wanted.ruled_out.contains(&default) {
        return None;
    }
    let region = catalog
        .regions_offering(gpu_id)
        .into_iter()
        .find(|r| policy.allows_region(r) && !wanted.ruled_out.contains(r))?;
    Some((
        region.to_owned(),
        format!(
            "region {region}: the default region {default} is ruled out; {region} is the first region offering {gpu_id} that is not"
        ),
    ))
}

/// The first region of the area (in the catalog's order) that offers the GPU and that the
/// policy allows, and the assumption saying so.
pub(crate) fn area_region(
    area: &Mentioned<Area>,
    gpu_id: &str,
    wanted: &Wanted<'_>,
    catalog: &Catalog,
    policy: &Policy,
) -> Result<(String, String), PlanError> {
    match first_region_offering(area, gpu_id, wanted, catalog, policy) {
        Some(region) => Ok((
            region.to_owned(),
            format!(
                "region {region}: \"{}\" is an area ({}); {region} is its first region offering {gpu_id} (catalog prices do not differ by region)",
                area.written,
                area.value.regions.join(", ")
            ),
        )),
        None => Err(rejected(
            "region",
            &area.written,
            format!(
                "no region of {} ({}) offers {gpu_id}{}; regions offering it: {}",
                area.value.name,
                area.value.regions.join(", "),
                match (
                    policy.allowed_regions.is_empty(),
                    wanted.ruled_out.is_empty()
                ) {
                    (true, true) => "",
                    (false, true) => " within the policy",
                    (true, false) => " outside the regions ruled out",
                    (false, false) => " within the policy and outside the regions ruled out",
                },
                catalog.regions_offering(gpu_id).join(", ")
            ),
        )),
    }
}

/// When a zone the request names does not offer the GPU: the error listing the zones of its
/// region that do (or the regions that do, when none of its zones does).
pub(crate) fn zone_not_offering(
    zone: &str,
    gpu_id: &str,
    catalog: &Catalog,
) -> Option<ValidationError> {
    let gpu = catalog.gpu(gpu_id)?;
    if gpu.is_offered_in(zone) || !catalog.is_known_zone(zone) {
        return None;
    }
    let region = catalog.region_of_zone(zone).unwrap_or_default();
    let zones: Vec<&str> = catalog
        .zones_in_region(region)
        .into_iter()
        .filter(|z| gpu.is_offered_in(z))
        .collect();
    let message = if zones.is_empty() {
        format!(
            "{gpu_id} is not offered in {zone}, nor anywhere in {region}; regions offering it: {}",
            catalog.regions_offering(gpu_id).join(", ")
        )
    } else {
        format!(
            "{gpu_id} is not offered in {zone}; zones of {region} offering it: {}",
            zones.join(", ")
        )
    };
    Some(ValidationError::new("zone", zone, message))
}

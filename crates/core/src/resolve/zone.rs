//! The zone of a request: the named one checked against the catalog and the policy, or
//! the first zone of the named or default region that offers the GPU.

use crate::catalog::{Catalog, GpuType};
use crate::{DeploymentDraft, Policy, ValidationError, ValidationErrors};

use super::{did_you_mean, policy_list};

/// Decides the zone: the named one (checked), or the first zone of the named or default
/// region that offers the GPU.
pub(super) fn resolve_zone(
    draft: &DeploymentDraft,
    gpu: Option<&GpuType>,
    catalog: &Catalog,
    policy: &Policy,
    errors: &mut ValidationErrors,
) -> Option<String> {
    let region = match draft.region.as_deref() {
        Some("") => return None, // hostile, already reported
        Some(region) if !catalog.is_known_region(region) => {
            let hint = if catalog.is_known_zone(region) {
                " (that is a zone; put it in `zone`)".to_string()
            } else {
                did_you_mean(region, &catalog.regions())
            };
            errors.push(ValidationError::new(
                "region",
                region,
                format!(
                    "unknown region{hint}; known regions: {}",
                    catalog.regions().join(", ")
                ),
            ));
            return None;
        }
        other => other,
    };

    let zone = match draft.zone.as_deref() {
        Some("") => return None, // hostile, already reported
        Some(zone) => {
            check_named_zone(zone, region, gpu, catalog, errors)?;
            zone.to_string()
        }
        None => default_zone(region, gpu?, catalog, policy, errors)?,
    };

    let zone_region = catalog.region_of_zone(&zone).unwrap_or_default();
    if !policy.allows_region(zone_region) {
        errors.push(ValidationError::new(
            if draft.zone.is_some() {
                "zone"
            } else {
                "region"
            },
            &zone,
            format!(
                "region {zone_region} is not allowed by the policy; allowed regions: {}",
                policy_list(&policy.allowed_regions)
            ),
        ));
    }
    Some(zone)
}

/// Checks a zone the draft names; `None` when it is unusable (reason recorded).
fn check_named_zone(
    zone: &str,
    region: Option<&str>,
    gpu: Option<&GpuType>,
    catalog: &Catalog,
    errors: &mut ValidationErrors,
) -> Option<()> {
    if !catalog.is_known_zone(zone) {
        let hint = if catalog.is_known_region(zone) {
            let zones = match gpu {
                Some(gpu) => zones_of_region_offering(catalog, zone, gpu),
                None => catalog.zones_in_region(zone),
            };
            format!(
                "unknown zone: that is a region; its zones{}: {}",
                gpu.map(|g| format!(" offering {}", g.id))
                    .unwrap_or_default(),
                if zones.is_empty() {
                    "none".to_string()
                } else {
                    zones.join(", ")
                }
            )
        } else {
            let offering = gpu.map(|g| {
                format!(
                    "; zones offering {}: {}",
                    g.id,
                    catalog.zones_offering(&g.id).join(", ")
                )
            });
            format!(
                "unknown zone{}{}",
                did_you_mean(zone, &all_zones(catalog)),
                offering.unwrap_or_else(|| format!(
                    "; known regions: {}",
                    catalog.regions().join(", ")
                ))
            )
        };
        errors.push(ValidationError::new("zone", zone, hint));
        return None;
    }
    let zone_region = catalog.region_of_zone(zone).unwrap_or_default();
    if let Some(region) = region
        && region != zone_region
    {
        errors.push(ValidationError::new(
            "zone",
            zone,
            format!(
                "is in region {zone_region}, not in the requested region {region}; zones of {region}: {}",
                catalog.zones_in_region(region).join(", ")
            ),
        ));
        return None;
    }
    if let Some(gpu) = gpu
        && !gpu.is_offered_in(zone)
    {
        errors.push(ValidationError::new(
            "zone",
            zone,
            format!(
                "{} is not offered in {zone}; it is offered in: {}",
                gpu.id,
                gpu.zones.join(", ")
            ),
        ));
        return None;
    }
    Some(())
}

fn default_zone(
    region: Option<&str>,
    gpu: &GpuType,
    catalog: &Catalog,
    policy: &Policy,
    errors: &mut ValidationErrors,
) -> Option<String> {
    let region = match region {
        Some(region) => region.to_string(),
        None => {
            let offering = catalog.regions_offering(&gpu.id);
            let default = catalog.default_region();
            if offering.contains(&default) && policy.allows_region(default) {
                default.to_string()
            } else if let Some(first) = offering.iter().find(|r| policy.allows_region(r)) {
                (*first).to_string()
            } else {
                errors.push(ValidationError::missing(
                    "region",
                    format!(
                        "{} is not offered in any region the policy allows ({}); it is offered in: {}",
                        gpu.id,
                        policy_list(&policy.allowed_regions),
                        offering.join(", ")
                    ),
                ));
                return None;
            }
        }
    };
    let zones = zones_of_region_offering(catalog, &region, gpu);
    match zones.first() {
        Some(zone) => Some((*zone).to_string()),
        None => {
            errors.push(ValidationError::new(
                "region",
                &region,
                format!(
                    "{} is not offered in any zone of {region}; regions offering it: {}",
                    gpu.id,
                    catalog.regions_offering(&gpu.id).join(", ")
                ),
            ));
            None
        }
    }
}

fn zones_of_region_offering<'c>(catalog: &'c Catalog, region: &str, gpu: &GpuType) -> Vec<&'c str> {
    catalog
        .zones_in_region(region)
        .into_iter()
        .filter(|z| gpu.is_offered_in(z))
        .collect()
}

fn all_zones(catalog: &Catalog) -> Vec<&str> {
    catalog
        .region_list()
        .iter()
        .flat_map(|r| r.zones.iter().map(String::as_str))
        .collect()
}

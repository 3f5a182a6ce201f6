//! Relative phrasings that only mean something against the current deployment ("add 2 more
//! VMs", "double the GPUs", "zone b"): `apply` turns them into plain values once the whole
//! request (issue and comment) is known, or records why they cannot be planned.

use promptops_core::{Catalog, DeploymentRequest, ValidationError};

use super::{Mentioned, Mentions, push};

/// Which count a relative change applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountField {
    Vms,
    /// GPUs per VM ("double the GPUs" doubles each VM's GPUs and keeps the VM count).
    GpusPerVm,
    /// GPUs without saying per VM or in total ("2 more GPUs"): per VM when the deployment
    /// has one VM, otherwise unclear.
    Gpus,
}

/// A change of a count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Add (or with a negative number remove) this many. `absolute_if_new`: "add 2 VMs" to a
    /// deployment that does not exist yet is 2 VMs; "2 more VMs" is unclear then.
    Add {
        field: CountField,
        by: i64,
        absolute_if_new: bool,
    },
    /// Multiply by `times / divided_by` ("double": 2/1, "halve": 1/2).
    Scale {
        field: CountField,
        times: u32,
        divided_by: u32,
    },
}

impl Change {
    fn field(&self) -> CountField {
        match self {
            Change::Add { field, .. } | Change::Scale { field, .. } => *field,
        }
    }
}

/// Applies relative changes and zone letters to the current deployment.
pub(super) fn apply(
    mentions: &mut Mentions,
    current: Option<&DeploymentRequest>,
    catalog: &Catalog,
) {
    let changes = std::mem::take(&mut mentions.changes);
    // Each field's changes, gathered once: a request may hold many.
    let mut by_field: Vec<(&str, Vec<usize>)> = Vec::new();
    for (index, change) in changes.iter().enumerate() {
        let field = field_name(change.value.field());
        match by_field.iter_mut().find(|(f, _)| *f == field) {
            Some((_, indices)) => indices.push(index),
            None => by_field.push((field, vec![index])),
        }
    }
    for (index, change) in changes.iter().enumerate() {
        let field = field_name(change.value.field());
        let same = by_field
            .iter()
            .find(|(f, _)| *f == field)
            .map_or(&[][..], |(_, indices)| indices.as_slice());
        if same.len() > 1 {
            // "another VM like them, and another": each change read against the deployment
            // gave the same count (one VM added, not two). Whether two changes add up or
            // one repeats the other, the request does not say. Refused once, at the first.
            if same[0] == index {
                let written: Vec<&str> =
                    same.iter().map(|&i| changes[i].written.as_str()).collect();
                mentions.unclear.push(changed_twice(field, &written));
            }
            continue;
        }
        apply_change(mentions, change, current);
    }
    for letter in std::mem::take(&mut mentions.zone_letter) {
        apply_zone_letter(mentions, &letter, current, catalog);
    }
}

fn apply_change(
    mentions: &mut Mentions,
    change: &Mentioned<Change>,
    current: Option<&DeploymentRequest>,
) {
    let counted = match current {
        None => count_without_deployment(change),
        Some(current) => changed_count(change, current),
    };
    match counted {
        Ok((field, count)) => {
            let list = match field {
                CountField::Vms => &mut mentions.vm_count,
                CountField::GpusPerVm => &mut mentions.gpus_per_vm,
                CountField::Gpus => &mut mentions.total_gpus,
            };
            push(list, count);
        }
        Err(unclear) => mentions.unclear.push(unclear),
    }
}

/// With no deployment yet, "add 2 VMs" is read as 2 VMs; any other change has nothing to
/// change.
fn count_without_deployment(
    change: &Mentioned<Change>,
) -> Result<(CountField, Mentioned<u32>), ValidationError> {
    let written = change.written.as_str();
    if let Change::Add {
        by,
        absolute_if_new: true,
        field,
    } = change.value
        && by > 0
    {
        let count = u32::try_from(by).unwrap_or(u32::MAX);
        let reading = format!(
            "\"{written}\" read as {count} {} (there is no deployment yet to add to)",
            field_words(field)
        );
        return Ok((field, Mentioned::new(count, written).with_reading(reading)));
    }
    Err(ValidationError::new(
        field_name(change.value.field()),
        written,
        format!(
            "\"{written}\" changes an existing deployment, but there is none yet; write the number you want in all (e.g. \"3 VMs\", \"2 GPUs per VM\")"
        ),
    ))
}

/// The count (VMs or GPUs per VM) that `change` leaves in the current deployment.
fn changed_count(
    change: &Mentioned<Change>,
    current: &DeploymentRequest,
) -> Result<(CountField, Mentioned<u32>), ValidationError> {
    let written = change.written.as_str();
    let (field, base) = changed_field(change, current)?;
    let result = changed_value(change, field, base)?;
    if result < 1 {
        let hint = match field {
            CountField::Vms => "; to remove the deployment comment `/promptops destroy`",
            _ => "",
        };
        return Err(ValidationError::new(
            field_name(field),
            written,
            format!(
                "\"{written}\" would leave {result} {} (the deployment has {base}){hint}",
                field_words(field)
            ),
        ));
    }
    let count = u32::try_from(result).unwrap_or(u32::MAX);
    let reading = format!(
        "\"{written}\": {base} {} in the current deployment, so {count}",
        field_words(field)
    );
    Ok((field, Mentioned::new(count, written).with_reading(reading)))
}

/// The field `change` changes and its current value; GPUs with no "per VM" or "in total"
/// are per VM only on a single VM.
fn changed_field(
    change: &Mentioned<Change>,
    current: &DeploymentRequest,
) -> Result<(CountField, u32), ValidationError> {
    match change.value.field() {
        CountField::Vms => Ok((CountField::Vms, current.vm_count)),
        CountField::GpusPerVm => Ok((CountField::GpusPerVm, current.gpu_count)),
        CountField::Gpus if current.vm_count == 1 => Ok((CountField::GpusPerVm, current.gpu_count)),
        CountField::Gpus => {
            let written = change.written.as_str();
            Err(ValidationError::new(
                "gpu_count",
                written,
                format!(
                    "\"{written}\" does not say whether per VM or in total, and the deployment has {} VMs; write e.g. \"2 more GPUs per VM\" or \"{} GPUs in total\"",
                    current.vm_count,
                    current.vm_count * current.gpu_count
                ),
            ))
        }
    }
}

/// `base` added to or scaled; a scaling that leaves no whole number is refused.
fn changed_value(
    change: &Mentioned<Change>,
    field: CountField,
    base: u32,
) -> Result<i64, ValidationError> {
    match change.value {
        Change::Add { by, .. } => Ok(i64::from(base) + by),
        Change::Scale {
            times, divided_by, ..
        } => {
            let scaled = u64::from(base) * u64::from(times);
            if divided_by == 0 || !scaled.is_multiple_of(u64::from(divided_by)) {
                let written = change.written.as_str();
                return Err(ValidationError::new(
                    field_name(field),
                    written,
                    format!(
                        "\"{written}\" of {base} {} is not a whole number; write the number you want",
                        field_words(field)
                    ),
                ));
            }
            Ok(i64::try_from(scaled / u64::from(divided_by)).unwrap_or(i64::MAX))
        }
    }
}

fn apply_zone_letter(
    mentions: &mut Mentions,
    letter: &Mentioned<char>,
    current: Option<&DeploymentRequest>,
    catalog: &Catalog,
) {
    let written = letter.written.as_str();
    let region = match (mentions.region.as_slice(), mentions.area.is_empty()) {
        ([region], true) => Some(region.value.clone()),
        ([], true) if mentions.zone.is_empty() => current.map(|c| c.region().to_owned()),
        _ => None,
    };
    let Some(region) = region else {
        if mentions.zone.is_empty() {
            mentions.unclear.push(ValidationError::new(
                "zone",
                written,
                format!(
                    "\"{written}\" names a zone letter but not one region; write the full zone, e.g. us-central1-{}",
                    letter.value
                ),
            ));
        }
        return;
    };
    let zone = format!("{region}-{}", letter.value);
    if !catalog.is_known_zone(&zone) {
        mentions.unclear.push(ValidationError::new(
            "zone",
            &zone,
            format!(
                "\"{written}\": region {region} has no zone {zone}; its zones: {}",
                catalog.zones_in_region(&region).join(", ")
            ),
        ));
        return;
    }
    let reading = format!("\"{written}\" read as zone {zone} of region {region}");
    push(
        &mut mentions.zone,
        Mentioned::new(zone, written).with_reading(reading),
    );
}

/// The refusal of a count changed by more than one phrase.
fn changed_twice(field: &str, written: &[&str]) -> ValidationError {
    let quoted: Vec<String> = written.iter().map(|w| format!("\"{w}\"")).collect();
    let what = if field == "vm_count" {
        "VMs"
    } else {
        "GPUs per VM"
    };
    ValidationError::new(
        field,
        &written.join(", "),
        format!(
            "{} each change the {field}; write the number of {what} you want in all",
            quoted.join(" and ")
        ),
    )
}

fn field_name(field: CountField) -> &'static str {
    match field {
        CountField::Vms => "vm_count",
        CountField::GpusPerVm | CountField::Gpus => "gpu_count",
    }
}

fn field_words(field: CountField) -> &'static str {
    match field {
        CountField::Vms => "VM(s)",
        CountField::GpusPerVm => "GPU(s) per VM",
        CountField::Gpus => "GPU(s)",
    }
}

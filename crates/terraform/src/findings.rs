//! What a reviewer should look at twice, read from `terraform show -json` beside the
//! resource changes: firewalls opened to the whole internet, root outputs that change,
//! and the values the plan gives the request's variables (machines and GPUs), which the
//! plan comment's explanation compares with the applied ones.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::mask::Masker;
use crate::report::ChangeAction;

/// Source ranges that let anyone on the internet in.
pub const WORLD_RANGES: [&str; 2] = ["0.0.0.0/0", "::/0"];

/// The request variables whose planned values the explanation names (what sets machines,
/// GPUs and where they run); any other variable is left out.
pub const REQUEST_VARIABLES: [&str; 5] =
    ["vm_count", "machine_type", "gpu_type", "gpu_count", "zone"];

/// How deep into a resource's planned values `source_ranges` is looked for (a firewall
/// has it at the top; a module's wrapper resource one or two levels down).
const MAX_DEPTH: usize = 4;

/// Findings beside the resource changes, masked like everything else in a report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanFindings {
    /// Resources created or changed whose planned `source_ranges` include the whole internet.
    #[serde(default)]
    pub open_to_world: Vec<OpenFirewall>,
    /// Root-module outputs the plan adds, changes or removes.
    #[serde(default)]
    pub outputs: Vec<OutputChange>,
    /// The planned value of each of [`REQUEST_VARIABLES`] the module declares and does not
    /// mark sensitive, as text.
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
}

/// A resource whose planned source ranges include [`WORLD_RANGES`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenFirewall {
    pub address: String,
    /// The world ranges it opens (`0.0.0.0/0`, `::/0`).
    pub ranges: Vec<String>,
}

/// A root-module output the plan adds, changes or removes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputChange {
    pub name: String,
    pub action: ChangeAction,
}

impl PlanFindings {
    /// The findings with every name and value passed through `masker`: a for_each key or
    /// a variable can carry a secret as much as Terraform's output can.
    pub fn masked(self, masker: &Masker) -> PlanFindings {
        PlanFindings {
            open_to_world: self
                .open_to_world
                .into_iter()
                .map(|open| OpenFirewall {
                    address: masker.mask_str(&open.address),
                    ranges: open.ranges,
                })
                .collect(),
            outputs: self
                .outputs
                .into_iter()
                .map(|output| OutputChange {
                    name: masker.mask_str(&output.name),
                    action: output.action,
                })
                .collect(),
            variables: self
                .variables
                .into_iter()
                .map(|(name, value)| (name, masker.mask_str(&value)))
                .collect(),
        }
    }
}

/// The world ranges among the planned `source_ranges` of a resource that is created,
/// updated or replaced (`None` when it opens nothing to the world).
pub(crate) fn open_to_world(
    address: &str,
    action: ChangeAction,
    after: &Value,
) -> Option<OpenFirewall> {
    if !matches!(
        action,
        ChangeAction::Create | ChangeAction::Update | ChangeAction::Replace
    ) {
        return None;
    }
    let mut ranges = Vec::new();
    collect_world_ranges(after, 0, &mut ranges);
    ranges.sort();
    ranges.dedup();
    (!ranges.is_empty()).then(|| OpenFirewall {
        address: address.to_owned(),
        ranges,
    })
}

fn collect_world_ranges(value: &Value, depth: usize, out: &mut Vec<String>) {
    if depth > MAX_DEPTH {
        return;
    }
    match value {
        Value::Object(fields) => {
            for (key, field) in fields {
                if key == "source_ranges"
                    && let Some(ranges) = field.as_array()
                {
                    out.extend(
                        ranges
                            .iter()
                            .filter_map(Value::as_str)
                            .map(str::trim)
                            .filter(|range| WORLD_RANGES.contains(range))
                            .map(str::to_owned),
                    );
                } else {
                    collect_world_ranges(field, depth + 1, out);
                }
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|item| collect_world_ranges(item, depth + 1, out)),
        _ => {}
    }
}

/// The outputs of `output_changes` whose action is not a no-op, in name order.
pub(crate) fn output_changes(changes: &serde_json::Map<String, Value>) -> Vec<OutputChange> {
    changes
        .iter()
        .filter_map(|(name, change)| {
            let actions: Vec<String> = change
                .get("actions")?
                .as_array()?
                .iter()
                .filter_map(|a| a.as_str().map(str::to_owned))
                .collect();
            let action = ChangeAction::from_json_actions(&actions)?;
            (!matches!(action, ChangeAction::NoOp | ChangeAction::Read)).then(|| OutputChange {
                name: name.clone(),
                action,
            })
        })
        .collect()
}

/// The planned values of the request variables, from the plan's `variables` and the
/// declarations in `configuration` (a variable declared sensitive is never read).
pub(crate) fn request_variables(
    values: Option<&Value>,
    declared: Option<&serde_json::Map<String, Value>>,
) -> BTreeMap<String, String> {
    let Some(values) = values.and_then(Value::as_object) else {
        return BTreeMap::new();
    };
    REQUEST_VARIABLES
        .iter()
        .filter(|name| {
            let declaration = declared.and_then(|d| d.get(**name));
            declaration.and_then(|d| d.get("sensitive")) != Some(&Value::Bool(true))
        })
        .filter_map(|name| {
            let text = match values.get(*name)?.get("value")? {
                Value::String(text) => text.clone(),
                Value::Number(number) => number.to_string(),
                _ => return None,
            };
            Some(((*name).to_owned(), text))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn world_ranges_are_found_where_a_resource_keeps_them() {
        let firewall = json!({"name": "ssh", "source_ranges": ["10.0.0.0/8", "0.0.0.0/0"]});
        let open = open_to_world(
            "google_compute_firewall.ssh",
            ChangeAction::Create,
            &firewall,
        );
        assert_eq!(open.unwrap().ranges, vec!["0.0.0.0/0"]);
        let nested = json!({"input": {"rules": [{"source_ranges": [" ::/0 "]}]}});
        let open = open_to_world("terraform_data.fw", ChangeAction::Update, &nested);
        assert_eq!(open.unwrap().ranges, vec!["::/0"]);
        let private = json!({"source_ranges": ["10.0.0.0/8"]});
        assert_eq!(
            open_to_world(
                "google_compute_firewall.internal",
                ChangeAction::Create,
                &private
            ),
            None
        );
        // A firewall being destroyed opens nothing.
        assert_eq!(
            open_to_world(
                "google_compute_firewall.ssh",
                ChangeAction::Delete,
                &firewall
            ),
            None
        );
    }

    #[test]
    fn only_changed_outputs_and_plain_request_variables_are_read() {
        let changes = json!({
            "zone": {"actions": ["update"]},
            "vm_names": {"actions": ["no-op"]},
            "new_url": {"actions": ["create"]}
        });
        let outputs = output_changes(changes.as_object().unwrap());
        assert_eq!(
            outputs,
            vec![
                OutputChange {
                    name: "new_url".into(),
                    action: ChangeAction::Create
                },
                OutputChange {
                    name: "zone".into(),
                    action: ChangeAction::Update
                },
            ]
        );
        let values = json!({
            "vm_count": {"value": 2},
            "gpu_type": {"value": "nvidia-tesla-t4"},
            "zone": {"value": "secret-zone"},
            "api_token": {"value": "tok"}
        });
        let declared = json!({"zone": {"sensitive": true}, "vm_count": {}});
        let variables = request_variables(Some(&values), declared.as_object());
        let pairs: Vec<(&str, &str)> = variables
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            pairs,
            vec![("gpu_type", "nvidia-tesla-t4"), ("vm_count", "2")]
        );
    }
}

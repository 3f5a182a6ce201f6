//! Reading `terraform show -json <plan>`: resource changes, action invocations (Terraform
//! 1.14 `action_invocations`), the values the plan marks sensitive, and what a reviewer
//! should look at twice (see `findings`).

use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::Value;

use crate::findings::{self, PlanFindings};
use crate::report::{ActionInvocation, ChangeAction, ResourceChange};

/// What the runner needs from the plan JSON.
#[derive(Debug, Default)]
pub struct PlanJson {
    /// Every resource instance with an action other than no-op/read.
    pub changes: Vec<ResourceChange>,
    /// Reads and no-ops, counted but not listed.
    pub unchanged: Vec<ResourceChange>,
    pub actions: Vec<ActionInvocation>,
    /// Root-module outputs whose value the plan adds, changes or removes.
    pub output_changes: usize,
    /// String forms of every value the plan marks sensitive (to mask in output).
    pub sensitive_values: Vec<SecretString>,
    /// Open firewalls, changed outputs and the request variables' planned values (not
    /// masked yet).
    pub findings: PlanFindings,
}

#[derive(Deserialize)]
struct RawPlan {
    #[serde(default)]
    format_version: Option<String>,
    #[serde(default)]
    resource_changes: Vec<RawResourceChange>,
    #[serde(default)]
    action_invocations: Vec<RawAction>,
    #[serde(default)]
    planned_values: Option<Value>,
    #[serde(default)]
    output_changes: Option<Value>,
    #[serde(default)]
    variables: Option<Value>,
    #[serde(default)]
    configuration: Option<Value>,
}

#[derive(Deserialize)]
struct RawResourceChange {
    address: String,
    change: RawChange,
}

#[derive(Deserialize)]
struct RawChange {
    actions: Vec<String>,
    #[serde(default)]
    before: Value,
    #[serde(default)]
    after: Value,
    #[serde(default)]
    before_sensitive: Value,
    #[serde(default)]
    after_sensitive: Value,
}

#[derive(Deserialize)]
struct RawAction {
    address: String,
    #[serde(default)]
    lifecycle_action_trigger: Option<RawTrigger>,
    #[serde(default)]
    invoke_action_trigger: Option<Value>,
}

#[derive(Deserialize)]
struct RawTrigger {
    #[serde(default)]
    triggering_resource_address: Option<String>,
    #[serde(default)]
    action_trigger_event: Option<String>,
}

/// Parses the file written by `terraform show -json`.
pub fn read_plan_json(path: &Path) -> Result<PlanJson, String> {
    let raw = read_raw_plan(path)?;
    let mut plan = PlanJson::default();
    // Collected in the order the plan lists them: resources, outputs, variables.
    let mut sensitive = Vec::new();
    for change in raw.resource_changes {
        add_resource_change(&mut plan, change, &mut sensitive)?;
    }
    plan.actions = raw
        .action_invocations
        .into_iter()
        .map(action_invocation)
        .collect();
    collect_sensitive_outputs(raw.planned_values.as_ref(), &mut sensitive);
    if let Some(changes) = raw.output_changes.as_ref().and_then(Value::as_object) {
        add_output_changes(&mut plan, changes, &mut sensitive);
    }
    let declared = raw
        .configuration
        .as_ref()
        .and_then(|c| c.pointer("/root_module/variables"))
        .and_then(Value::as_object);
    plan.findings.variables = findings::request_variables(raw.variables.as_ref(), declared);
    if let (Some(declared), Some(values)) =
        (declared, raw.variables.as_ref().and_then(Value::as_object))
    {
        collect_sensitive_variables(declared, values, &mut sensitive);
    }
    plan.sensitive_values = sensitive.into_iter().map(SecretString::from).collect();
    Ok(plan)
}

/// The plan file, in a format version this reader understands.
fn read_raw_plan(path: &Path) -> Result<RawPlan, String> {
    let file = std::fs::File::open(path).map_err(|err| err.to_string())?;
    let raw: RawPlan =
        serde_json::from_reader(std::io::BufReader::new(file)).map_err(|err| err.to_string())?;
    if let Some(version) = &raw.format_version
        && !version.starts_with("1.")
    {
        return Err(format!(
            "plan JSON format_version {version} is not supported (expected 1.x)"
        ));
    }
    Ok(raw)
}

/// Lists a resource change as changed or unchanged, with its sensitive values and whether
/// it opens a firewall to the world.
fn add_resource_change(
    plan: &mut PlanJson,
    rc: RawResourceChange,
    sensitive: &mut Vec<String>,
) -> Result<(), String> {
    let action = ChangeAction::from_json_actions(&rc.change.actions).ok_or_else(|| {
        format!(
            "resource {} has unknown actions {:?}",
            rc.address, rc.change.actions
        )
    })?;
    collect_sensitive(&rc.change.after, &rc.change.after_sensitive, sensitive);
    collect_sensitive(&rc.change.before, &rc.change.before_sensitive, sensitive);
    if let Some(open) = findings::open_to_world(&rc.address, action, &rc.change.after) {
        plan.findings.open_to_world.push(open);
    }
    let change = ResourceChange {
        address: rc.address,
        action,
    };
    match action {
        ChangeAction::NoOp | ChangeAction::Read => plan.unchanged.push(change),
        _ => plan.changes.push(change),
    }
    Ok(())
}

/// An action invocation with what triggers it: a resource's lifecycle event, or `invoke`
/// for one run with `terraform apply -invoke`.
fn action_invocation(action: RawAction) -> ActionInvocation {
    let event = match (
        &action.lifecycle_action_trigger,
        &action.invoke_action_trigger,
    ) {
        (Some(trigger), _) => trigger.action_trigger_event.clone(),
        (None, Some(_)) => Some("invoke".to_owned()),
        (None, None) => None,
    };
    ActionInvocation {
        address: action.address,
        triggered_by: action
            .lifecycle_action_trigger
            .and_then(|trigger| trigger.triggering_resource_address),
        event,
    }
}

/// The values of the root-module outputs marked sensitive.
fn collect_sensitive_outputs(planned_values: Option<&Value>, sensitive: &mut Vec<String>) {
    let Some(outputs) = planned_values
        .and_then(|pv| pv.get("outputs"))
        .and_then(Value::as_object)
    else {
        return;
    };
    for output in outputs.values() {
        if output.get("sensitive") == Some(&Value::Bool(true)) {
            collect_all(output.get("value").unwrap_or(&Value::Null), sensitive);
        }
    }
}

/// Counts the outputs the plan changes (no-ops aside) and collects their sensitive values.
fn add_output_changes(
    plan: &mut PlanJson,
    changes: &serde_json::Map<String, Value>,
    sensitive: &mut Vec<String>,
) {
    plan.findings.outputs = findings::output_changes(changes);
    plan.output_changes = changes
        .values()
        .filter(|change| {
            let actions = change.get("actions").and_then(Value::as_array);
            actions.is_some_and(|a| a.iter().any(|action| action != "no-op"))
        })
        .count();
    for change in changes.values() {
        collect_sensitive(
            change.get("after").unwrap_or(&Value::Null),
            change.get("after_sensitive").unwrap_or(&Value::Null),
            sensitive,
        );
    }
}

/// The values of the variables the configuration declares sensitive.
fn collect_sensitive_variables(
    declared: &serde_json::Map<String, Value>,
    values: &serde_json::Map<String, Value>,
    sensitive: &mut Vec<String>,
) {
    for (name, declaration) in declared {
        if declaration.get("sensitive") == Some(&Value::Bool(true))
            && let Some(value) = values.get(name).and_then(|v| v.get("value"))
        {
            collect_all(value, sensitive);
        }
    }
}

/// Walks `value` alongside its sensitivity mask (`true` = sensitive; objects/arrays
/// mirror the value's shape).
fn collect_sensitive(value: &Value, mask: &Value, out: &mut Vec<String>) {
    match mask {
        Value::Bool(true) => collect_all(value, out),
        Value::Object(fields) => {
            for (key, sub_mask) in fields {
                if let Some(sub) = value.get(key) {
                    collect_sensitive(sub, sub_mask, out);
                }
            }
        }
        Value::Array(items) => {
            for (i, sub_mask) in items.iter().enumerate() {
                if let Some(sub) = value.get(i) {
                    collect_sensitive(sub, sub_mask, out);
                }
            }
        }
        _ => {}
    }
}

fn collect_all(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Number(n) => out.push(n.to_string()),
        Value::Array(items) => items.iter().for_each(|v| collect_all(v, out)),
        Value::Object(fields) => fields.values().for_each(|v| collect_all(v, out)),
        Value::Bool(_) | Value::Null => {}
    }
}

/// The last `Plan: ...`, `No changes. ...`, `Apply complete! ...` or `Destroy complete! ...`
/// line of Terraform's text output.
pub fn summary_line(text: &str) -> Option<String> {
    text.lines()
        .rev()
        .map(str::trim)
        .find(|line| {
            line.starts_with("Plan: ")
                || line.starts_with("No changes.")
                || line.starts_with("Apply complete!")
                || line.starts_with("Destroy complete!")
        })
        .map(str::to_owned)
}

static ACTIONS_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"Actions: (\d+) (to invoke|invoked)\.").expect("actions line pattern")
});

/// The number in the last `Actions: N to invoke.` / `Actions: N invoked.` line, with the line.
pub fn actions_line(text: &str) -> Option<(usize, String)> {
    text.lines().rev().find_map(|line| {
        ACTIONS_LINE.captures(line).map(|caps| {
            (
                caps[1].parse().unwrap_or(0),
                caps.get(0).map_or("", |m| m.as_str()).to_owned(),
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn reads_changes_actions_and_sensitive_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        // Shape of Terraform 1.14's `show -json` with an action invocation.
        std::fs::write(
            &path,
            r#"{
              "format_version": "1.2",
              "resource_changes": [
                {"address": "terraform_data.vm[0]", "change": {"actions": ["create"], "after": {"input": "pw-value-1"}, "after_sensitive": {"input": true}}},
                {"address": "terraform_data.vm[1]", "change": {"actions": ["delete", "create"]}},
                {"address": "terraform_data.vm[2]", "change": {"actions": ["no-op"]}},
                {"address": "terraform_data.old", "change": {"actions": ["delete"]}}
              ],
              "action_invocations": [
                {"address": "action.aap_job_launch.configure_vm", "type": "aap_job_launch",
                 "lifecycle_action_trigger": {"triggering_resource_address": "terraform_data.aap_trigger", "action_trigger_event": "after_create"}}
              ],
              "planned_values": {"outputs": {"token": {"sensitive": true, "value": "out-secret"}}},
              "variables": {"password": {"value": "var-secret"}, "count": {"value": "3"}},
              "configuration": {"root_module": {"variables": {"password": {"sensitive": true}, "count": {}}}}
            }"#,
        )
        .unwrap();
        let plan = read_plan_json(&path).unwrap();
        let actions: Vec<_> = plan.changes.iter().map(|c| c.action).collect();
        assert_eq!(
            actions,
            vec![
                ChangeAction::Create,
                ChangeAction::Replace,
                ChangeAction::Delete
            ]
        );
        assert_eq!(plan.unchanged.len(), 1);
        assert_eq!(plan.actions.len(), 1);
        assert_eq!(
            plan.actions[0].address,
            "action.aap_job_launch.configure_vm"
        );
        assert_eq!(plan.actions[0].event.as_deref(), Some("after_create"));
        let mut secrets: Vec<&str> = plan
            .sensitive_values
            .iter()
            .map(|s| s.expose_secret())
            .collect();
        secrets.sort();
        assert_eq!(secrets, vec!["out-secret", "pw-value-1", "var-secret"]);
    }

    /// Writes `json` as a plan file and reads it.
    fn read(json: &str) -> Result<PlanJson, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        std::fs::write(&path, json).unwrap();
        read_plan_json(&path)
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        assert_eq!(
            read(r#"{"format_version": "2.0"}"#).unwrap_err(),
            "plan JSON format_version 2.0 is not supported (expected 1.x)"
        );
        assert_eq!(
            read(
                r#"{"resource_changes": [{"address": "x.a", "change": {"actions": ["explode"]}}]}"#
            )
            .unwrap_err(),
            r#"resource x.a has unknown actions ["explode"]"#
        );
        assert!(read("{").unwrap_err().contains("EOF"));
        let missing = read_plan_json(Path::new("/nonexistent/plan.json")).unwrap_err();
        assert!(missing.contains("No such file"), "{missing}");
    }

    #[test]
    fn reads_outputs_triggers_findings_and_every_sensitive_value_in_order() {
        let plan = read(
            r#"{
              "resource_changes": [
                {"address": "x.a", "change": {"actions": ["update"],
                  "before": {"list": ["b1", "b2"], "n": 7}, "before_sensitive": {"list": [false, true], "n": true},
                  "after": {"obj": {"k": "a1", "m": 2}, "source_ranges": ["0.0.0.0/0"]}, "after_sensitive": {"obj": true}}},
                {"address": "data.x.r", "change": {"actions": ["read"], "after": {"source_ranges": ["::/0"]}}},
                {"address": "x.gone", "change": {"actions": ["forget"]}}
              ],
              "action_invocations": [
                {"address": "action.a.invoked", "invoke_action_trigger": {}},
                {"address": "action.a.bare"},
                {"address": "action.a.lifecycle", "lifecycle_action_trigger": {"action_trigger_event": "before_update"}}
              ],
              "planned_values": {"outputs": {
                "plain": {"sensitive": false, "value": "not-secret"},
                "secret": {"sensitive": true, "value": ["o1", {"x": "o2"}, true, null]}}},
              "output_changes": {
                "changed": {"actions": ["update"], "after": "oc1", "after_sensitive": true},
                "same": {"actions": ["no-op"], "after": {"s": "oc2"}, "after_sensitive": {"s": true}}},
              "variables": {"zone": {"value": "v1"}, "vm_count": {"value": 3}, "token": {"value": "v2"}},
              "configuration": {"root_module": {"variables": {"zone": {"sensitive": true}, "vm_count": {}}}}
            }"#,
        )
        .unwrap();
        let listed = |changes: &[ResourceChange]| -> Vec<(String, ChangeAction)> {
            changes
                .iter()
                .map(|c| (c.address.clone(), c.action))
                .collect()
        };
        assert_eq!(
            listed(&plan.changes),
            [
                ("x.a".to_owned(), ChangeAction::Update),
                ("x.gone".to_owned(), ChangeAction::Forget)
            ]
        );
        assert_eq!(
            listed(&plan.unchanged),
            [("data.x.r".to_owned(), ChangeAction::Read)]
        );
        let actions: Vec<_> = plan
            .actions
            .iter()
            .map(|a| {
                (
                    a.address.as_str(),
                    a.triggered_by.as_deref(),
                    a.event.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            actions,
            [
                ("action.a.invoked", None, Some("invoke")),
                ("action.a.bare", None, None),
                ("action.a.lifecycle", None, Some("before_update"))
            ]
        );
        assert_eq!(plan.output_changes, 1);
        let secrets: Vec<&str> = plan
            .sensitive_values
            .iter()
            .map(|s| s.expose_secret())
            .collect();
        assert_eq!(
            secrets,
            ["a1", "2", "b2", "7", "o1", "o2", "oc1", "oc2", "v1"]
        );
        assert_eq!(
            plan.findings.open_to_world,
            [findings::OpenFirewall {
                address: "x.a".into(),
                ranges: vec!["0.0.0.0/0".into()]
            }]
        );
        assert_eq!(
            plan.findings.outputs,
            [findings::OutputChange {
                name: "changed".into(),
                action: ChangeAction::Update
            }]
        );
        assert_eq!(
            plan.findings.variables.into_iter().collect::<Vec<_>>(),
            [("vm_count".to_owned(), "3".to_owned())]
        );
    }

    #[test]
    fn finds_summary_and_action_lines() {
        let text = "noise\nPlan: 2 to add, 0 to change, 0 to destroy.\nActions: 1 to invoke.\n";
        assert_eq!(
            summary_line(text).as_deref(),
            Some("Plan: 2 to add, 0 to change, 0 to destroy.")
        );
        assert_eq!(
            actions_line(text),
            Some((1, "Actions: 1 to invoke.".into()))
        );
        assert_eq!(actions_line("Actions: 3 invoked.").unwrap().0, 3);
        assert_eq!(actions_line("nothing"), None);
    }
}

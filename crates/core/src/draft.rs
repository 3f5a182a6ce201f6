//! `DeploymentDraft`: what a planner produces before validation, and its strict reading
//! from model JSON output.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{DeploymentRequest, TfvarsValues, ValidationError, ValidationErrors, quote_value};

/// Counts above this are not a request but a mistake or an attack ("absurd").
pub const MAX_SANE_COUNT: u64 = 10_000;
/// Disk sizes above this (GB) are absurd.
pub const MAX_SANE_DISK_GB: u64 = 1_000_000;

/// The keys `from_json` accepts.
pub const DRAFT_FIELDS: &[&str] = &[
    "name",
    "vm_count",
    "gpu_type",
    "gpu_count",
    "machine_type",
    "zone",
    "region",
    "boot_disk_size_gb",
    "rationale",
    "assumptions",
    "expires_in",
    "expires_at",
];

/// A deployment as proposed, before defaults and validation; every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeploymentDraft {
    pub name: Option<String>,
    pub vm_count: Option<u32>,
    /// A catalog id or a common spelling ("T4", "a100 80gb").
    pub gpu_type: Option<String>,
    /// GPUs per VM.
    pub gpu_count: Option<u32>,
    pub machine_type: Option<String>,
    pub zone: Option<String>,
    pub region: Option<String>,
    pub boot_disk_size_gb: Option<u32>,
    pub rationale: Option<String>,
    pub assumptions: Vec<String>,
}

impl DeploymentDraft {
    /// Reads a draft from a JSON object, reporting every problem at once: a value that is
    /// not an object, unknown keys, wrong JSON types, negative, fractional or absurd
    /// numbers. `null` counts as absent.
    pub fn from_json(value: &Value) -> Result<DeploymentDraft, ValidationErrors> {
        let Some(object) = value.as_object() else {
            return Err(ValidationErrors(vec![ValidationError::with_raw_value(
                "(top level)",
                json_type(value),
                format!(
                    "expected a JSON object with the keys {}",
                    DRAFT_FIELDS.join(", ")
                ),
            )]));
        };
        let mut errors = ValidationErrors::default();
        for key in object.keys() {
            if !DRAFT_FIELDS.contains(&key.as_str()) {
                errors.push(unknown_key_error(key));
            }
        }
        let mut read_string = |field: &str| string_field(object.get(field), field, &mut errors);
        let name = read_string("name");
        let gpu_type = read_string("gpu_type");
        let machine_type = read_string("machine_type");
        let zone = read_string("zone");
        let region = read_string("region");
        let rationale = read_string("rationale");
        let mut read_count =
            |field: &str, max: u64| count_field(object.get(field), field, max, &mut errors);
        let vm_count = read_count("vm_count", MAX_SANE_COUNT);
        let gpu_count = read_count("gpu_count", MAX_SANE_COUNT);
        let boot_disk_size_gb = read_count("boot_disk_size_gb", MAX_SANE_DISK_GB);
        let assumptions = string_list_field(object.get("assumptions"), "assumptions", &mut errors);
        // The expiry is read on its own (`ExpiryRequest::from_model_json`); its problems are
        // reported here with the others, so that one repair turn sees them all.
        if let Err(error) = crate::ExpiryRequest::from_model_json(object) {
            errors.push(error);
        }
        errors.into_result(DeploymentDraft {
            name,
            vm_count,
            gpu_type,
            gpu_count,
            machine_type,
            zone,
            region,
            boot_disk_size_gb,
            rationale,
            assumptions,
        })
    }
}

impl From<&DeploymentRequest> for DeploymentDraft {
    fn from(request: &DeploymentRequest) -> Self {
        Self {
            name: Some(request.name.clone()),
            vm_count: Some(request.vm_count),
            gpu_type: Some(request.gpu_type.clone()),
            gpu_count: Some(request.gpu_count),
            machine_type: Some(request.machine_type.clone()),
            zone: Some(request.zone.clone()),
            region: None,
            boot_disk_size_gb: Some(request.boot_disk_size_gb),
            rationale: Some(request.rationale.clone()),
            assumptions: request.assumptions.clone(),
        }
    }
}

impl From<&TfvarsValues> for DeploymentDraft {
    fn from(values: &TfvarsValues) -> Self {
        Self {
            name: Some(values.deployment_name.clone()),
            vm_count: Some(values.vm_count),
            gpu_type: Some(values.gpu_type.clone()),
            gpu_count: Some(values.gpu_count),
            machine_type: Some(values.machine_type.clone()),
            zone: Some(values.zone.clone()),
            region: None,
            boot_disk_size_gb: Some(values.boot_disk_size_gb),
            rationale: None,
            assumptions: Vec::new(),
        }
    }
}

fn unknown_key_error(key: &str) -> ValidationError {
    let closest = DRAFT_FIELDS
        .iter()
        .map(|f| (strsim::jaro_winkler(f, key), *f))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .filter(|(score, _)| *score > 0.85)
        .map(|(_, f)| format!(" (did you mean `{f}`?)"))
        .unwrap_or_default();
    // A plain key names itself; anything else is quoted so that it cannot break the line.
    let plain = !key.is_empty()
        && key.len() <= 64
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let field = if plain {
        key.to_string()
    } else {
        quote_value(key)
    };
    ValidationError::new(
        field,
        key,
        format!(
            "unknown key{closest}; allowed keys: {}",
            DRAFT_FIELDS.join(", ")
        ),
    )
}

/// The JSON type of a value, for "expected X, got Y" messages.
fn json_type(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(_) => "a string".to_string(),
        Value::Array(_) => "an array".to_string(),
        Value::Object(_) => "an object".to_string(),
    }
}

fn string_field(
    value: Option<&Value>,
    field: &str,
    errors: &mut ValidationErrors,
) -> Option<String> {
    match value? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => {
            errors.push(ValidationError::with_raw_value(
                field,
                json_type(other),
                "expected a string (or null)",
            ));
            None
        }
    }
}

fn count_field(
    value: Option<&Value>,
    field: &str,
    max: u64,
    errors: &mut ValidationErrors,
) -> Option<u32> {
    let number = match value? {
        Value::Null => return None,
        Value::Number(n) => n,
        other => {
            errors.push(ValidationError::with_raw_value(
                field,
                json_type(other),
                "expected a whole number (or null)",
            ));
            return None;
        }
    };
    let raw = number.to_string();
    let whole: Option<u64> = if let Some(u) = number.as_u64() {
        Some(u)
    } else if number.as_i64().is_some() {
        errors.push(ValidationError::with_raw_value(
            field,
            raw,
            "must not be negative",
        ));
        return None;
    } else {
        // A float: accepted only when it is a whole, non-negative number such as 5.0.
        let f = number.as_f64().unwrap_or(f64::NAN);
        if f < 0.0 {
            errors.push(ValidationError::with_raw_value(
                field,
                raw,
                "must not be negative",
            ));
            return None;
        }
        if f.fract() != 0.0 || !f.is_finite() {
            errors.push(ValidationError::with_raw_value(
                field,
                raw,
                "must be a whole number",
            ));
            return None;
        }
        (f <= max as f64).then_some(f as u64)
    };
    match whole {
        Some(n) if n <= max => Some(u32::try_from(n).unwrap_or(u32::MAX)),
        _ => {
            errors.push(ValidationError::with_raw_value(
                field,
                raw,
                format!("is absurdly large; at most {max}"),
            ));
            None
        }
    }
}

fn string_list_field(
    value: Option<&Value>,
    field: &str,
    errors: &mut ValidationErrors,
) -> Vec<String> {
    match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| match item {
                Value::String(s) => Some(s.clone()),
                other => {
                    errors.push(ValidationError::with_raw_value(
                        format!("{field}[{i}]"),
                        json_type(other),
                        "expected a string",
                    ));
                    None
                }
            })
            .collect(),
        Some(other) => {
            errors.push(ValidationError::with_raw_value(
                field,
                json_type(other),
                "expected an array of strings (or null)",
            ));
            Vec::new()
        }
    }
}

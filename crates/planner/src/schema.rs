//! The structured-outputs response format: a strict JSON schema with exactly
//! `DeploymentDraft`'s fields. Closed sets (GPU ids, zones, regions, machine types) are
//! enums generated from the catalog, so the model cannot even express an unknown value.

use promptops_core::Catalog;
use serde_json::{Value, json};

/// The fields of `DeploymentDraft` (core's list; the schema and the prompt must name exactly these).
pub use promptops_core::DRAFT_FIELDS;

/// The name the schema is registered under in the request.
pub const SCHEMA_NAME: &str = "deployment_draft";

/// The `response_format` value for chat completions.
pub fn response_format(catalog: &Catalog) -> Value {
    json!({
        "type": "json_schema",
        "json_schema": {
            "name": SCHEMA_NAME,
            "strict": true,
            "schema": draft_schema(catalog),
        }
    })
}

/// The JSON schema of a draft. Strict mode needs every property required and no extras;
/// "not stated" is expressed as null.
pub fn draft_schema(catalog: &Catalog) -> Value {
    let gpu_ids: Vec<&str> = catalog.gpus().iter().map(|g| g.id.as_str()).collect();
    let mut zones: Vec<&str> = catalog
        .gpus()
        .iter()
        .flat_map(|g| g.zones.iter().map(String::as_str))
        .collect();
    zones.sort_unstable();
    zones.dedup();
    let regions = catalog.regions();
    let machine_types: Vec<&str> = catalog
        .machine_types()
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": DRAFT_FIELDS,
        "properties": {
            "name": nullable(json!({"type": "string"}),
                "Deployment name: lower-case letters, digits and single dashes, starting with a letter, not ending with a dash, at most 39 characters."),
            "vm_count": nullable(json!({"type": "integer"}), "Number of VMs."),
            "gpu_type": nullable(json!({"type": "string", "enum": gpu_ids}), "Catalog GPU id."),
            "gpu_count": nullable(json!({"type": "integer"}), "GPUs per VM."),
            "machine_type": nullable(json!({"type": "string", "enum": machine_types}), "Machine type."),
            "zone": nullable(json!({"type": "string", "enum": zones}), "Zone that offers the GPU."),
            "region": nullable(json!({"type": "string", "enum": regions}), "Region, when no zone is chosen."),
            "boot_disk_size_gb": nullable(json!({"type": "integer"}), "Boot disk size in GB."),
            "rationale": {"type": "string", "description": "Why these values, in one or two sentences."},
            "assumptions": {"type": "array", "items": {"type": "string"},
                "description": "Every value chosen without the user stating it, and why."},
            "expires_in": nullable(json!({"type": "string"}),
                "How long after the apply the deployment is needed, when the request says so: a whole number and h, d or w (36h, 3d, 1w)."),
            "expires_at": nullable(json!({"type": "string"}),
                "The last day the deployment is needed, when the request names one: YYYY-MM-DD, or a weekday name (friday)."),
        }
    })
}

fn nullable(schema: Value, description: &str) -> Value {
    json!({"anyOf": [schema, {"type": "null"}], "description": description})
}

//! Model output → DeploymentDraft::from_json → resolve → render_tfvars → parse_tfvars.
//! Whatever the bytes, nothing panics, and an accepted request round-trips through the
//! rendered file with only catalog values and a pattern-checked name in it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use promptops_core::{
    Catalog, DeploymentDraft, Policy, RenderContext, TfvarsValues, is_valid_name, parse_tfvars,
    render_tfvars, resolve,
};

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let draft = match DeploymentDraft::from_json(&value) {
        Ok(draft) => draft,
        Err(errors) => {
            assert!(!errors.is_empty(), "a rejection carries at least one reason");
            // Every problem stays on one line, whatever the input held.
            assert_eq!(errors.to_string().lines().count(), errors.len());
            return;
        }
    };
    let catalog = Catalog::embedded();
    let request = match resolve(draft, catalog, &Policy::default()) {
        Ok(request) => request,
        Err(errors) => {
            assert!(!errors.is_empty(), "a rejection carries at least one reason");
            assert_eq!(errors.to_string().lines().count(), errors.len());
            return;
        }
    };
    let ctx = RenderContext {
        source: "fuzz/repo#1".to_string(),
        planner: "fuzz".to_string(),
    };
    let text = render_tfvars(&request, &ctx);
    let values = parse_tfvars(&text).expect("a rendered file parses back");
    assert_eq!(values, TfvarsValues::from(&request));
    assert!(is_valid_name(&values.deployment_name));
    assert!(catalog.gpu(&values.gpu_type).is_some());
    assert!(catalog.machine_type(&values.machine_type).is_some());
    assert!(catalog.is_known_zone(&values.zone));
    assert!(!text.contains("${") && !text.contains("%{"));
    request
        .validate(catalog, &Policy::default())
        .expect("a resolved request re-validates");
});

//! Reading a deployment's `terraform.tfvars` — whoever wrote it — back into the typed
//! request, checked with the same catalog, policy and hostile-string rules as a request the
//! planner produced. A file written by hand gets no shortcut: Terraform only ever sees a
//! file that PromptOps itself could have rendered.
//!
//! Every problem is reported at once: the attributes that cannot be read (unknown keys,
//! blocks, wrong types, expressions) and, for the values that can, what the catalog and the
//! policy say about them.

use hcl::{Body, Structure};

use crate::{
    Catalog, DeploymentDraft, DeploymentRequest, Policy, TFVARS_ATTRIBUTES, TfvarsError,
    TfvarsValues, ValidationError, ValidationErrors, parse_tfvars, resolve,
};

/// The request a deployment's tfvars holds, when it passes every rule; otherwise every
/// problem found. `deployment` is the name of the directory the file lives in: the file's
/// `deployment_name` must be the same (state, locks and runs are keyed by the directory).
pub fn check_tfvars(
    text: &str,
    deployment: &str,
    catalog: &Catalog,
    policy: &Policy,
) -> Result<DeploymentRequest, ValidationErrors> {
    let (values, mut errors) = match parse_tfvars(text) {
        Ok(values) => (Some(values), ValidationErrors::default()),
        Err(TfvarsError::Syntax(message)) => {
            return Err(ValidationErrors(vec![ValidationError::missing(
                "terraform.tfvars",
                format!("is not valid HCL: {message}"),
            )]));
        }
        Err(TfvarsError::Invalid(errors)) => (known_attributes_only(text), errors),
    };
    let Some(values) = values else {
        return Err(errors);
    };
    if values.deployment_name != deployment {
        errors.push(ValidationError::new(
            "deployment_name",
            &values.deployment_name,
            format!("must be {deployment:?}, the name of the directory the file is in"),
        ));
    }
    match resolve(DeploymentDraft::from(&values), catalog, policy) {
        Ok(request) => {
            for problem in not_canonical(&values, &request) {
                errors.push(problem);
            }
            errors.into_result(request)
        }
        Err(found) => {
            errors.0.extend(found);
            Err(errors)
        }
    }
}

/// The values of the seven attributes when a file fails only because of extra keys or
/// blocks: those are reported already, and the values are still checked so that the
/// answer names every problem, not just the first kind.
fn known_attributes_only(text: &str) -> Option<TfvarsValues> {
    let body = hcl::parse(text).ok()?;
    let kept: Body = body
        .into_iter()
        .filter(|structure| match structure {
            Structure::Attribute(attr) => TFVARS_ATTRIBUTES.contains(&attr.key()),
            Structure::Block(_) => false,
        })
        .collect();
    parse_tfvars(&hcl::format::to_string(&kept).ok()?).ok()
}

/// Differences between what the file says and the catalog's spelling of it. Resolution
/// accepts aliases ("T4", "A100 40GB") from people; Terraform must get the catalog ids.
fn not_canonical(values: &TfvarsValues, request: &DeploymentRequest) -> Vec<ValidationError> {
    [
        ("gpu_type", &values.gpu_type, &request.gpu_type),
        ("machine_type", &values.machine_type, &request.machine_type),
        ("zone", &values.zone, &request.zone),
    ]
    .into_iter()
    .filter(|(_, written, canonical)| written != canonical)
    .map(|(field, written, canonical)| {
        ValidationError::new(
            field,
            written,
            format!("must be the catalog id {canonical:?}"),
        )
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, vm_count: u32, gpu: &str, gpus: u32, machine: &str) -> String {
        format!(
            "deployment_name = \"{name}\"\nvm_count = {vm_count}\ngpu_type = \"{gpu}\"\ngpu_count = {gpus}\nmachine_type = \"{machine}\"\nzone = \"us-central1-a\"\nboot_disk_size_gb = 100\n"
        )
    }

    fn check(text: &str) -> Result<DeploymentRequest, ValidationErrors> {
        check_tfvars(text, "alpha", Catalog::embedded(), &Policy::default())
    }

    #[test]
    fn a_file_within_the_rules_reads_back_as_the_request() {
        let request = check(&file("alpha", 2, "nvidia-tesla-t4", 1, "n1-standard-4")).unwrap();
        assert_eq!(request.vm_count, 2);
        assert_eq!(request.gpu_type, "nvidia-tesla-t4");
        assert_eq!(request.name, "alpha");
    }

    #[test]
    fn a_hand_written_file_over_the_policy_names_every_problem() {
        let text = file("alpha", 500, "nvidia-tesla-a100", 8, "a2-highgpu-8g");
        let errors = check(&text).unwrap_err();
        assert!(
            errors.for_field("vm_count").next().is_some(),
            "the VM count is over the policy: {errors}"
        );
        let policy = Policy {
            max_gpus_per_vm: 4,
            ..Policy::default()
        };
        let errors = check_tfvars(&text, "alpha", Catalog::embedded(), &policy).unwrap_err();
        assert!(errors.for_field("vm_count").next().is_some(), "{errors}");
        assert!(errors.for_field("gpu_count").next().is_some(), "{errors}");
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_named_with_the_policy_problems() {
        let text = format!(
            "{}extra = \"x\"\nprovisioner \"local-exec\" {{}}\n",
            file("alpha", 500, "nvidia-tesla-t4", 1, "n1-standard-4")
        );
        let errors = check(&text).unwrap_err();
        assert!(errors.for_field("extra").next().is_some(), "{errors}");
        assert!(errors.for_field("provisioner").next().is_some(), "{errors}");
        assert!(errors.for_field("vm_count").next().is_some(), "{errors}");

        let wrong_type = file("alpha", 1, "nvidia-tesla-t4", 1, "n1-standard-4")
            .replace("vm_count = 1", "vm_count = \"1\"");
        let errors = check(&wrong_type).unwrap_err();
        assert!(errors.for_field("vm_count").next().is_some(), "{errors}");
    }

    #[test]
    fn hostile_strings_aliases_and_a_foreign_name_are_refused() {
        let hostile = file("alpha", 1, "nvidia-tesla-t4", 1, "n1-standard-4")
            .replace("\"us-central1-a\"", "\"us-central1-a\\n$${file(x)}\"");
        let errors = check(&hostile).unwrap_err();
        let zone: Vec<_> = errors.for_field("zone").collect();
        assert!(
            zone.iter().any(|e| e.message.contains("interpolation")),
            "{errors}"
        );

        let alias = file("alpha", 1, "T4", 1, "n1-standard-4");
        let errors = check(&alias).unwrap_err();
        assert!(
            errors
                .for_field("gpu_type")
                .any(|e| e.message.contains("nvidia-tesla-t4")),
            "{errors}"
        );

        let other = file("beta", 1, "nvidia-tesla-t4", 1, "n1-standard-4");
        let errors = check(&other).unwrap_err();
        assert!(
            errors.for_field("deployment_name").next().is_some(),
            "{errors}"
        );
    }

    #[test]
    fn a_syntax_error_is_one_problem() {
        let errors = check("vm_count = = 3").unwrap_err();
        assert_eq!(errors.len(), 1, "{errors}");
        assert!(errors.to_string().contains("not valid HCL"), "{errors}");
    }
}

//! The deployment name rule: every accepted name is a valid GCP resource name
//! (`[a-z]([-a-z0-9]*[a-z0-9])?`) and a valid HTML comment body (no `--`, since the name goes
//! into the hidden marker of the bot's comments); rejected names say which rule they break.

use promptops_core::{Catalog, DeploymentDraft, NAME_RULE, Policy, is_valid_name, resolve};
use proptest::prelude::*;
use regex::Regex;

/// GCP's own pattern for resource names (instances, firewall rules, network tags), anchored.
const GCP_NAME: &str = "^[a-z]([-a-z0-9]*[a-z0-9])?$";

fn gcp_name_regex() -> Regex {
    Regex::new(GCP_NAME).expect("GCP name pattern compiles")
}

/// True when `text` may stand inside `<!-- ... -->`: HTML forbids `--` in a comment body,
/// and a body may not start with `>` or `->` nor end with `-`.
fn is_html_comment_body(text: &str) -> bool {
    !text.contains("--")
        && !text.starts_with('>')
        && !text.starts_with("->")
        && !text.ends_with('-')
}

fn resolve_named(
    name: &str,
) -> Result<promptops_core::DeploymentRequest, promptops_core::ValidationErrors> {
    resolve(
        DeploymentDraft {
            name: Some(name.to_owned()),
            gpu_type: Some("t4".to_owned()),
            ..DeploymentDraft::default()
        },
        Catalog::embedded(),
        &Policy::default(),
    )
}

#[test]
fn a_trailing_dash_or_a_double_dash_is_rejected_naming_the_rule() {
    for name in ["web-", "web--db", "a--", "inference-gpu-", "a---b"] {
        assert!(!is_valid_name(name), "{name:?} accepted");
        let errors = resolve_named(name).expect_err("name should be rejected");
        assert_eq!(errors.len(), 1, "{name:?}: {errors}");
        let error = &errors.0[0];
        assert_eq!(error.field, "name", "{name:?}");
        assert_eq!(error.message, NAME_RULE, "{name:?}");
        assert!(
            error.message.contains("must not end with a dash")
                && error.message.contains("two dashes in a row"),
            "{}",
            error.message
        );
    }
}

#[test]
fn single_inner_dashes_and_the_longest_name_are_accepted() {
    for name in [
        "web",
        "a",
        "web-db",
        "a-b-c-1",
        &format!("a{}", "-b".repeat(19)),
    ] {
        assert!(is_valid_name(name), "{name:?} rejected");
        let request = resolve_named(name).expect("name should be accepted");
        assert_eq!(request.name, name);
    }
    assert!(
        !is_valid_name(&format!("a{}", "-b".repeat(19) + "c")),
        "40 characters accepted"
    );
}

#[test]
fn derived_names_stay_within_the_rule_for_awkward_catalog_aliases() {
    // A catalog whose T4 alias would, character by character, give "t4--tesla--us-central1".
    let text = include_str!("../catalog/gcp.toml").replacen(
        r#"aliases = ["t4", "tesla t4", "nvidia t4"]"#,
        r#"aliases = ["t4 (tesla) ", "tesla t4", "nvidia t4"]"#,
        1,
    );
    assert!(
        text.contains("t4 (tesla) "),
        "the embedded catalog's T4 aliases changed"
    );
    let catalog = Catalog::from_toml_str(&text).expect("edited catalog loads");
    let request = resolve(
        DeploymentDraft {
            gpu_type: Some("nvidia-tesla-t4".to_owned()),
            region: Some("us-central1".to_owned()),
            ..DeploymentDraft::default()
        },
        &catalog,
        &Policy::default(),
    )
    .expect("derived name is accepted");
    assert_eq!(request.name, "t4-tesla-us-central1");
}

#[test]
fn derived_names_cut_to_length_never_end_with_a_dash() {
    // 38 characters before a dash: cutting at 39 would leave the dash at the end.
    let alias = format!("t{} x", "4".repeat(37));
    let text = include_str!("../catalog/gcp.toml").replacen(
        r#"aliases = ["t4", "tesla t4", "nvidia t4"]"#,
        &format!(r#"aliases = ["{alias}", "tesla t4", "nvidia t4"]"#),
        1,
    );
    let catalog = Catalog::from_toml_str(&text).expect("edited catalog loads");
    let request = resolve(
        DeploymentDraft {
            gpu_type: Some("nvidia-tesla-t4".to_owned()),
            ..DeploymentDraft::default()
        },
        &catalog,
        &Policy::default(),
    )
    .expect("derived name is accepted");
    assert_eq!(request.name, format!("t{}", "4".repeat(37)));
}

proptest! {
    #[test]
    fn every_accepted_name_is_a_gcp_name_and_an_html_comment_body(name in "[a-z0-9-]{0,42}") {
        if is_valid_name(&name) {
            prop_assert!(gcp_name_regex().is_match(&name), "not a GCP name: {:?}", name);
            prop_assert!(is_html_comment_body(&name), "not an HTML comment body: {:?}", name);
            prop_assert!(name.len() <= 39);
            // The instances are named `<name>-<index>`; with at most 99 VMs that stays a GCP name.
            let instance = format!("{name}-99");
            prop_assert!(gcp_name_regex().is_match(&instance) && instance.len() <= 63);
        } else {
            let errors = resolve_named(&name).expect_err("rejected by resolve too");
            prop_assert!(errors.0.iter().any(|e| e.field == "name"), "{}", errors);
        }
    }

    #[test]
    fn gcp_names_that_fit_the_length_and_avoid_double_dashes_are_accepted(
        name in "[a-z]([-a-z0-9]{0,37}[a-z0-9])?"
    ) {
        prop_assert_eq!(is_valid_name(&name), !name.contains("--"), "{:?}", name);
    }
}

//! The module's wait for the configuration job fits what the job may take on a GPU VM's
//! first boot (the playbook's own waits plus the installs), and the whole apply still fits
//! the bot's Terraform timeout: otherwise a slow first boot is reported as a failed job, or
//! the bot kills Terraform while the job is still running.

#[allow(dead_code)]
#[path = "support/terraform.rs"]
mod tf;

use tf::{attr, block, literal_json, parse_module, repo_root, terraform_dir};

/// Time the job needs beyond the playbook's explicit waits: apt, a virtualenv, Streamlit
/// and its dependencies from the package index on a fresh VM.
const INSTALLS_SECS: u64 = 300;
/// Time the apply needs before the action fires: GPU VMs, firewall, the Vault CA.
const RESOURCES_SECS: u64 = 180;

fn playbook_wait_secs() -> u64 {
    let text = std::fs::read_to_string(repo_root().join("ansible/install_streamlit.yml")).unwrap();
    let plays: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    let play = plays
        .as_sequence()
        .unwrap()
        .iter()
        .find(|play| play["hosts"] == "promptops_targets")
        .expect("the play that configures the targets");
    ["connect_timeout", "app_start_timeout"]
        .iter()
        .map(|name| {
            play["vars"][*name]
                .as_u64()
                .unwrap_or_else(|| panic!("{name} is not a number in the playbook"))
        })
        .sum()
}

/// The default of PROMPTOPS_TERRAFORM_TIMEOUT_SECS, from the service's settings.
fn service_terraform_timeout_secs() -> u64 {
    let text = std::fs::read_to_string(repo_root().join("src/config/mod.rs")).unwrap();
    let pattern =
        regex::Regex::new(r#"env = "PROMPTOPS_TERRAFORM_TIMEOUT_SECS", default_value_t = (\d+)"#)
            .unwrap();
    pattern
        .captures(&text)
        .expect("PROMPTOPS_TERRAFORM_TIMEOUT_SECS's default in src/config/mod.rs")[1]
        .parse()
        .unwrap()
}

#[test]
fn the_aap_wait_covers_a_first_boot_and_fits_the_bots_terraform_timeout() {
    let module = parse_module(&terraform_dir());
    let variable = block(&module, "variable", &["aap_wait_timeout_seconds"]);
    let wait = literal_json(attr(&variable.body, "default").expect("a default"))
        .as_u64()
        .unwrap();
    let needed = playbook_wait_secs() + INSTALLS_SECS;
    assert!(
        wait >= needed,
        "aap_wait_timeout_seconds defaults to {wait} s; the job may need {needed} s (the playbook's waits plus {INSTALLS_SECS} s of installs)"
    );
    let budget = service_terraform_timeout_secs();
    assert!(
        wait + RESOURCES_SECS <= budget,
        "aap_wait_timeout_seconds ({wait} s) plus {RESOURCES_SECS} s of resource creation exceeds the bot's Terraform timeout ({budget} s)"
    );
    let aap = parse_module(&terraform_dir());
    let action = block(&aap, "action", &["aap_job_launch", "configure_vm"]);
    let config = block(&action.body, "config", &[]);
    assert_eq!(
        tf::text(attr(&config.body, "wait_for_completion_timeout_seconds").unwrap()),
        "var.aap_wait_timeout_seconds"
    );
}

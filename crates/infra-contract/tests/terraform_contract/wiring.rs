//! The root module's wiring: the configuration action runs after create and update with
//! every variable the playbook requires, providers are pinned with a partial GCS backend,
//! the firewall opens only SSH and the app port from allowed ranges, the outputs list the
//! VMs, and Vault objects are named after the deployment.

use super::*;

#[test]
fn configuration_action_runs_after_create_and_update() {
    let root = root_module();
    let action = tf::block(&root, "action", &["aap_job_launch", "configure_vm"]);
    let config = tf::block(action.body(), "config", &[]);
    for name in ["job_template_id", "extra_vars", "wait_for_completion"] {
        tf::required_attr(config.body(), name, "action config");
    }
    assert!(
        tf::attr(config.body(), "timeouts").is_none(),
        "aap_job_launch has no timeouts"
    );
    assert_eq!(
        tf::text(tf::required_attr(
            config.body(),
            "extra_vars",
            "action config"
        )),
        "jsonencode(local.configure_extra_vars)"
    );

    let trigger = tf::block(&root, "resource", &["terraform_data", "aap_trigger"]);
    let input = tf::text(tf::required_attr(
        trigger.body(),
        "input",
        "terraform_data.aap_trigger",
    ));
    assert!(
        input.contains("module.compute.external_ips"),
        "trigger input does not track the VM IPs: {input}"
    );
    let lifecycle = tf::block(trigger.body(), "lifecycle", &[]);
    let action_trigger = tf::block(lifecycle.body(), "action_trigger", &[]);
    assert_eq!(
        tf::text(tf::required_attr(
            action_trigger.body(),
            "events",
            "action_trigger"
        )),
        "[after_create, after_update]"
    );
    assert_eq!(
        tf::text(tf::required_attr(
            action_trigger.body(),
            "actions",
            "action_trigger"
        )),
        "[action.aap_job_launch.configure_vm]"
    );
}

/// The variables play 1 of the playbook asserts to be defined.
fn playbook_required_vars() -> BTreeSet<String> {
    let path = tf::repo_root().join("ansible/install_streamlit.yml");
    let text = std::fs::read_to_string(&path).expect("ansible/install_streamlit.yml");
    let plays: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).expect("playbook YAML");
    let first_task = &plays[0]["tasks"][0];
    let that = first_task["ansible.builtin.assert"]["that"]
        .as_sequence()
        .expect("assert.that list");
    let re = regex::Regex::new(r"^(\w+) is defined").expect("regex");
    let vars: BTreeSet<String> = that
        .iter()
        .filter_map(|c| c.as_str())
        .filter_map(|c| re.captures(c).map(|m| m[1].to_string()))
        .collect();
    assert!(
        vars.len() >= 5,
        "could not read the required variables from play 1: {vars:?}"
    );
    vars
}

#[test]
fn action_extra_vars_carry_everything_the_playbook_requires() {
    let root = root_module();
    let locals = tf::locals(&root);
    let Some(Expression::Object(extra)) = locals.get("configure_extra_vars") else {
        panic!("root module has no object local.configure_extra_vars");
    };
    let keys: BTreeSet<String> = extra.keys().map(tf::key_name).collect();
    let required = playbook_required_vars();
    let missing: Vec<&String> = required.difference(&keys).collect();
    assert!(
        missing.is_empty(),
        "extra_vars lack {missing:?} (has {keys:?})"
    );
    let wrapped = extra
        .iter()
        .find(|(k, _)| tf::key_name(k) == "vault_wrapped_secret_id")
        .map(|(_, v)| tf::text(v))
        .expect("extra_vars has vault_wrapped_secret_id");
    assert!(
        wrapped.contains("wrapping_token"),
        "the secret_id must reach AAP response-wrapped, got {wrapped}"
    );

    let secret_id = tf::block(
        &root,
        "resource",
        &["vault_approle_auth_backend_role_secret_id", "configure"],
    );
    tf::required_attr(secret_id.body(), "wrapping_ttl", "the AppRole secret_id");
}

#[test]
fn versions_pin_terraform_providers_and_a_partial_gcs_backend() {
    let root = root_module();
    let terraform = tf::block(&root, "terraform", &[]);
    assert_eq!(
        tf::literal(tf::required_attr(
            terraform.body(),
            "required_version",
            "terraform block"
        )),
        Value::from(">= 1.14.1")
    );
    let providers = tf::block(terraform.body(), "required_providers", &[]);
    let source_and_version = |name: &str| {
        let entry = tf::literal_json(tf::required_attr(
            providers.body(),
            name,
            "required_providers",
        ));
        (
            entry["source"].as_str().unwrap_or_default().to_string(),
            entry["version"].as_str().unwrap_or_default().to_string(),
        )
    };
    assert_eq!(source_and_version("google").0, "hashicorp/google");
    assert_eq!(source_and_version("vault").0, "hashicorp/vault");
    assert_eq!(
        source_and_version("aap"),
        ("ansible/aap".to_string(), ">= 1.4.0".to_string())
    );
    let backend = tf::block(terraform.body(), "backend", &["gcs"]);
    assert!(
        backend.body().attributes().next().is_none(),
        "backend \"gcs\" must stay partial (bucket and prefix come from init)"
    );
}

#[test]
fn firewall_opens_only_ssh_and_the_app_port_from_allowed_ranges() {
    let network = module("network");
    let rules = tf::blocks(&network, "resource", &["google_compute_firewall"]);
    assert_eq!(rules.len(), 2, "expected exactly two firewall rules");
    let mut ports = BTreeMap::new();
    for rule in rules {
        let body = rule.body();
        let name = tf::text(tf::required_attr(body, "name", "firewall rule"));
        assert!(
            name.contains("var.deployment_name"),
            "firewall rule name {name} is not per deployment"
        );
        let ranges = tf::text(tf::required_attr(body, "source_ranges", "firewall rule"));
        let allow = tf::block(body, "allow", &[]);
        let port = tf::text(tf::required_attr(allow.body(), "ports", "allow"));
        ports.insert(port, ranges);
    }
    assert_eq!(
        ports.get(r#"["22"]"#).map(String::as_str),
        Some("var.ssh_source_ranges"),
        "{ports:?}"
    );
    assert_eq!(
        ports.get("[tostring(var.app_port)]").map(String::as_str),
        Some("var.app_source_ranges"),
        "{ports:?}"
    );

    let root = root_module();
    assert_eq!(
        tf::literal(&tf::locals(&root)["app_port"]),
        Value::from(8501)
    );
    let ssh_ranges = tf::block(&root, "variable", &["ssh_source_ranges"]);
    assert!(
        tf::attr(ssh_ranges.body(), "default").is_none(),
        "SSH source ranges must be chosen, not defaulted"
    );
}

#[test]
fn outputs_list_vm_names_ips_and_app_urls() {
    let root = root_module();
    for name in ["vm_names", "vm_ips", "app_urls"] {
        tf::block(&root, "output", &[name]);
    }
    let urls = tf::text(tf::required_attr(
        tf::block(&root, "output", &["app_urls"]).body(),
        "value",
        "app_urls",
    ));
    assert!(
        urls.contains("http://${ip}:${local.app_port}"),
        "app_urls: {urls}"
    );
}

#[test]
fn vault_objects_are_named_after_the_deployment() {
    let vault = module("vault-ssh-ca");
    let locals = tf::locals(&vault);
    for name in ["mount_path", "ssh_role_name", "approle_name", "policy_name"] {
        let value = tf::text(
            locals
                .get(name)
                .unwrap_or_else(|| panic!("vault module has no local.{name}")),
        );
        assert!(
            value.contains("var.deployment_name"),
            "local.{name} = {value} is not per deployment"
        );
    }
    let role = tf::block(
        &vault,
        "resource",
        &["vault_ssh_secret_backend_role", "user"],
    );
    let body = role.body();
    assert_eq!(
        tf::literal(tf::required_attr(body, "key_type", "ssh role")),
        Value::from("ca")
    );
    assert_eq!(
        tf::literal(tf::required_attr(
            body,
            "allow_user_certificates",
            "ssh role"
        )),
        Value::from(true)
    );
    assert_eq!(
        tf::text(tf::required_attr(body, "allowed_users", "ssh role")),
        "var.ssh_user"
    );
    assert_eq!(
        tf::literal(tf::required_attr(body, "algorithm_signer", "ssh role")),
        Value::from("rsa-sha2-256")
    );
    let approle = tf::block(
        &vault,
        "resource",
        &["vault_approle_auth_backend_role", "configure"],
    );
    assert_eq!(
        tf::literal(tf::required_attr(
            approle.body(),
            "secret_id_num_uses",
            "approle"
        )),
        Value::from(1)
    );
    let policy = tf::text(tf::required_attr(
        tf::block(&vault, "resource", &["vault_policy", "ssh_issue"]).body(),
        "policy",
        "policy",
    ));
    assert!(
        policy.contains("/issue/"),
        "policy does not grant ssh issue: {policy}"
    );
    assert_eq!(
        policy.matches("path \"").count(),
        1,
        "the policy grants more than one path: {policy}"
    );
}

//! Runs the real terraform binary (1.11 on this image) against the `terraform_data`
//! fixture with a local backend whose state lives outside the per-run work dir.

mod common;

use common::{Scratch, real_terraform, runner, tarball_of};
use promptops_terraform::comment::markdown::check_balance;
use promptops_terraform::comment::transcript;
use promptops_terraform::comment::{CommentOptions, render_apply_comments, render_plan_comments};
use promptops_terraform::{
    ApplyOutcome, ChangeAction, PlanOutcome, RunnerError, Source, TerraformVersion,
};
use secrecy::SecretString;

fn state_resources(path: &std::path::Path) -> Vec<String> {
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("state file")).unwrap();
    let mut out = Vec::new();
    for resource in state["resources"].as_array().unwrap() {
        for (i, _) in resource["instances"].as_array().unwrap().iter().enumerate() {
            out.push(format!(
                "{}.{}[{i}]",
                resource["type"].as_str().unwrap(),
                resource["name"].as_str().unwrap()
            ));
        }
    }
    out
}

#[tokio::test]
async fn version_is_read_from_the_binary() {
    let scratch = Scratch::new();
    let runner = runner(scratch.config(real_terraform()));
    let version = runner.version().await.unwrap();
    assert!(version >= TerraformVersion::new(1, 5, 0), "{version}");
}

/// Terraform is asked its version once per binary, not before every run; replacing the
/// binary in place is noticed on the next run.
#[tokio::test]
async fn the_version_is_asked_once_until_the_binary_changes() {
    use std::os::unix::fs::PermissionsExt as _;
    let scratch = Scratch::new();
    // A wrapper over the real binary that counts `version` calls where the sandbox lets
    // it write (the state dir the scratch config lists as writable).
    let state = scratch.dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    let calls = state.join("version-calls");
    let wrapper = scratch.dir.path().join("terraform-wrapper");
    let write_wrapper = |marker: &str| {
        let script = format!(
            "#!/bin/sh\n# {marker}\nif [ \"$1\" = version ]; then echo >> {calls}; fi\nexec {real} \"$@\"\n",
            calls = calls.display(),
            real = real_terraform().display(),
        );
        std::fs::write(&wrapper, script).unwrap();
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    write_wrapper("first");
    let runner = runner(scratch.config(wrapper.clone()));
    let count = || std::fs::read_to_string(&calls).map_or(0, |text| text.lines().count());

    let first = runner.version().await.unwrap();
    let second = runner.version().await.unwrap();
    assert_eq!(first, second);
    assert_eq!(count(), 1, "the second answer must come from the cache");

    // Replaced in place (a different size): asked again.
    write_wrapper("second, upgraded");
    runner.version().await.unwrap();
    assert_eq!(count(), 2, "a changed binary must be asked again");
}

#[tokio::test]
async fn plan_from_a_github_tarball_shows_the_counts_and_cleans_up() {
    let scratch = Scratch::new();
    let runner = runner(scratch.config(real_terraform()));
    let tarball = tarball_of(&scratch.repo(), "owner-infra-0123456");
    let report = runner
        .plan(&scratch.spec(Source::Tarball(tarball), "alpha"))
        .await
        .unwrap();

    assert_eq!(
        report.outcome,
        PlanOutcome::Changes,
        "{}",
        report.output.text()
    );
    // The outputs (VM names, addresses) change with the resources, and the summary says so.
    assert_eq!(
        report.summary,
        "Plan: 2 to add, 0 to change, 0 to destroy; 3 output changes."
    );
    assert_eq!(report.counts.create, 2);
    let addresses: Vec<&str> = report.changes.iter().map(|c| c.address.as_str()).collect();
    assert_eq!(
        addresses,
        vec!["terraform_data.vm[0]", "terraform_data.vm[1]"]
    );
    assert!(
        report
            .changes
            .iter()
            .all(|c| c.action == ChangeAction::Create)
    );
    assert!(
        report
            .output
            .contains("Terraform has been successfully initialized")
    );
    assert!(report.output.contains("$ terraform plan -input=false -no-color -detailed-exitcode -out=plan.bin -var-file=deployments/alpha/terraform.tfvars"));
    assert!(report.output.log_path.is_file());
    // A plan writes no state, and the work dir is gone.
    assert!(!scratch.state_file("alpha").exists());
    assert_eq!(scratch.leftover_work_dirs(), Vec::<String>::new());

    let comments = render_plan_comments(&report, &CommentOptions::default());
    assert_eq!(comments.len(), 1);
    let body = &comments[0];
    assert!(body.starts_with("<!-- promptops:plan deployment=alpha part=1/1 -->"));
    assert!(body.contains("| ➕ create | `terraform_data.vm[1]` |"));
    assert!(body.contains("commit `0123456789ab`"));
    // A successful init is left out: the block holds the plan.
    assert!(
        !body.contains("Terraform has been successfully initialized"),
        "{body}"
    );
    assert!(
        body.contains("+           + name         = \"alpha-0\""),
        "{body}"
    );
    check_balance(body).unwrap();
}

#[tokio::test]
async fn apply_writes_state_then_changes_show_update_and_replace_then_destroy_removes() {
    let scratch = Scratch::new();
    let runner = runner(scratch.config(real_terraform()));

    let applied = runner.apply(&scratch.dir_spec("alpha")).await.unwrap();
    assert_eq!(
        applied.outcome,
        ApplyOutcome::Applied,
        "{}",
        applied.output.text()
    );
    assert_eq!(
        applied.summary,
        "Apply complete! Resources: 2 added, 0 changed, 0 destroyed."
    );
    assert_eq!(
        state_resources(&scratch.state_file("alpha")),
        vec!["terraform_data.vm[0]", "terraform_data.vm[1]"]
    );
    let names = applied
        .outputs
        .iter()
        .find(|o| o.name == "vm_names")
        .unwrap();
    assert_eq!(names.value, serde_json::json!(["alpha-0", "alpha-1"]));
    let password = applied
        .outputs
        .iter()
        .find(|o| o.name == "admin_password")
        .unwrap();
    assert!(password.sensitive);
    assert_eq!(password.value, serde_json::json!("***"));
    let comments = render_apply_comments(&applied, &CommentOptions::default());
    assert!(comments[0].contains(
        "\n### ✅ Terraform apply for `alpha` — Applied: 2 added, 0 changed, 0 destroyed\n"
    ));
    assert!(
        comments[0].contains("- `vm_names`: `alpha-0`, `alpha-1`\n"),
        "{}",
        comments[0]
    );
    check_balance(&comments[0]).unwrap();

    // The same commit again: nothing to do.
    let again = runner.plan(&scratch.dir_spec("alpha")).await.unwrap();
    assert_eq!(again.outcome, PlanOutcome::NoChanges);
    assert!(
        again.summary.starts_with("No changes."),
        "{}",
        again.summary
    );

    // A later PR: a new machine type updates in place, a third VM is added.
    scratch.set_var("alpha", "machine_type", "\"n1-standard-8\"");
    scratch.set_var("alpha", "vm_count", "3");
    let update = runner.plan(&scratch.dir_spec("alpha")).await.unwrap();
    assert_eq!(update.outcome, PlanOutcome::Changes);
    assert_eq!(
        (update.counts.update, update.counts.create),
        (2, 1),
        "{:?}",
        update.changes
    );
    assert_eq!(
        update.summary,
        "Plan: 1 to add, 2 to change, 0 to destroy; 1 output change."
    );

    // A new zone replaces the VMs.
    scratch.set_var("alpha", "machine_type", "\"n1-standard-4\"");
    scratch.set_var("alpha", "vm_count", "2");
    scratch.set_var("alpha", "zone", "\"us-central1-b\"");
    let replace = runner.plan(&scratch.dir_spec("alpha")).await.unwrap();
    assert_eq!(replace.counts.replace, 2, "{:?}", replace.changes);
    assert!(
        replace
            .changes
            .iter()
            .all(|c| c.action == ChangeAction::Replace)
    );
    let comment = &render_plan_comments(&replace, &CommentOptions::default())[0];
    assert!(comment.contains("| ♻️ replace | `terraform_data.vm[0]` |"));
    assert!(
        comment.contains("! -/+ resource \"terraform_data\" \"vm\""),
        "{comment}"
    );

    let destroyed = runner.destroy(&scratch.dir_spec("alpha")).await.unwrap();
    assert_eq!(
        destroyed.outcome,
        ApplyOutcome::Applied,
        "{}",
        destroyed.output.text()
    );
    assert!(destroyed.plan.destroy);
    assert_eq!(destroyed.plan.counts.delete, 2);
    assert!(
        destroyed.summary.contains("2 destroyed"),
        "{}",
        destroyed.summary
    );
    assert_eq!(
        state_resources(&scratch.state_file("alpha")),
        Vec::<String>::new()
    );
    assert_eq!(scratch.leftover_work_dirs(), Vec::<String>::new());
}

#[tokio::test]
async fn a_bad_variable_fails_the_plan_with_the_error_in_the_output() {
    let scratch = Scratch::new();
    let runner = runner(scratch.config(real_terraform()));
    scratch.set_var("alpha", "vm_count", "\"many\"");
    let report = runner.plan(&scratch.dir_spec("alpha")).await.unwrap();
    assert_eq!(report.outcome, PlanOutcome::Failed);
    let failure = report.failure.as_ref().unwrap();
    assert_eq!(failure.step, "plan");
    assert!(
        report.summary.starts_with(
            "terraform plan failed (exit status 1): Error: Invalid value for input variable"
        ),
        "{}",
        report.summary
    );
    assert!(
        report.output.contains("a number is required"),
        "{}",
        report.output.text()
    );

    let applied = runner.apply(&scratch.dir_spec("alpha")).await.unwrap();
    assert_eq!(applied.outcome, ApplyOutcome::PlanFailed);
    assert!(!scratch.state_file("alpha").exists());

    let comments = render_plan_comments(&report, &CommentOptions::default());
    assert!(comments[0].contains("❌ Terraform plan for `alpha`: failed"));
    assert!(comments[0].contains("Invalid value for input variable"));
    check_balance(&comments[0]).unwrap();
}

#[tokio::test]
async fn secrets_in_the_environment_never_appear_in_reports_logs_or_comments() {
    let scratch = Scratch::new();
    let token = "tok-5up3r-s3cret-value-91";
    let mut config = scratch.config(real_terraform());
    config.secret_env = vec![(
        "TF_VAR_api_token".into(),
        SecretString::from(token.to_string()),
    )];
    let runner = runner(config);
    let applied = runner.apply(&scratch.dir_spec("alpha")).await.unwrap();
    assert_eq!(
        applied.outcome,
        ApplyOutcome::Applied,
        "{}",
        applied.output.text()
    );

    // Terraform did receive it (it printed the input), and we masked it.
    assert!(
        applied.plan.output.contains("api_token    = \"***\""),
        "{}",
        applied.plan.output.text()
    );
    let mut texts = vec![
        applied.plan.output.text(),
        applied.output.text(),
        serde_json::to_string(&applied).unwrap(),
    ];
    texts.extend(render_apply_comments(&applied, &CommentOptions::default()));
    texts.extend(render_plan_comments(
        &applied.plan,
        &CommentOptions::default(),
    ));
    for log in std::fs::read_dir(scratch.work_root().join("logs")).unwrap() {
        texts.push(std::fs::read_to_string(log.unwrap().path()).unwrap());
    }
    for text in &texts {
        assert!(!text.contains(token), "secret leaked into: {text}");
        // The sensitive output's value, marked sensitive by the plan JSON.
        assert!(
            !text.contains("no-password"),
            "sensitive value leaked into: {text}"
        );
    }
}

#[tokio::test]
async fn a_configuration_with_actions_needs_terraform_1_14_1() {
    let scratch = Scratch::new();
    std::fs::write(
        scratch.repo().join("terraform/actions.tf"),
        "action \"aap_job_launch\" \"configure_vm\" {\n  config {\n    job_template_id = 1\n  }\n}\n",
    )
    .unwrap();
    let runner = runner(scratch.config(real_terraform()));
    let err = runner.plan(&scratch.dir_spec("alpha")).await.unwrap_err();
    assert!(matches!(err, RunnerError::TerraformTooOld { .. }), "{err}");
    let message = err.to_string();
    assert!(
        message.contains("uses Terraform actions, which needs >= 1.14.1"),
        "{message}"
    );
    assert_eq!(scratch.leftover_work_dirs(), Vec::<String>::new());

    let err = runner
        .invoke(
            &Scratch::new().dir_spec("alpha"),
            "action.aap_job_launch.configure_vm",
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("`apply -invoke` (Terraform actions) needs >= 1.14.1"),
        "{err}"
    );
}

#[tokio::test]
async fn a_2000_resource_plan_fits_in_balanced_comments_that_keep_the_end() {
    let scratch = Scratch::new();
    scratch.set_var("alpha", "vm_count", "2000");
    let runner = runner(scratch.config(real_terraform()));
    let report = runner.plan(&scratch.dir_spec("alpha")).await.unwrap();
    assert_eq!(report.counts.create, 2000, "{}", report.summary);
    assert_eq!(
        report.summary,
        "Plan: 2000 to add, 0 to change, 0 to destroy; 3 output changes."
    );

    let options = CommentOptions::default();
    let comments = render_plan_comments(&report, &options);
    assert!(
        comments.len() > 1 && comments.len() <= options.max_comments,
        "{} comments",
        comments.len()
    );
    for (i, comment) in comments.iter().enumerate() {
        assert!(
            comment.chars().count() < 65_536,
            "comment {i} has {} chars",
            comment.chars().count()
        );
        if let Err(problems) = check_balance(comment) {
            panic!("comment {i} is unbalanced: {problems:?}");
        }
        let marker = format!(
            "<!-- promptops:plan deployment=alpha part={}/{} -->",
            i + 1,
            comments.len()
        );
        assert!(comment.starts_with(&marker));
    }
    assert!(comments[0].contains("| … | and 1950 more |"));
    assert!(comments[0].contains("are left out below; the end is kept"));
    // The end of the output is kept: its last line closes the last comment's code block,
    // and the plan's summary line (followed by the output changes) is posted.
    // (What is posted is the transcript without the runner's command lines and the
    // server's CLI-configuration warning; only the changes carry a diff sign.)
    let shown = transcript::read(&report.output.text(), false).shown;
    let signs = transcript::change_signs(&shown);
    let lines: Vec<&str> = shown.lines().collect();
    let tail: Vec<String> = (lines.len() - 5..lines.len())
        .map(|i| format!("{} {}", signs[i], lines[i]))
        .collect();
    let last = comments.last().unwrap();
    assert!(
        last.ends_with(&format!("{}\n```\n</details>\n", tail.join("\n"))),
        "output end missing: {}",
        &last[last.len().saturating_sub(400)..]
    );
    assert!(
        comments
            .iter()
            .any(|c| c.contains("  Plan: 2000 to add, 0 to change, 0 to destroy."))
    );
    assert!(
        !comments.iter().any(|c| c.contains("\"alpha-0\"")),
        "the start of the output was cut"
    );
}

#[tokio::test]
async fn a_plan_that_only_changes_an_output_is_not_titled_no_changes() {
    let scratch = Scratch::new();
    let runner = runner(scratch.config(real_terraform()));
    let applied = runner.apply(&scratch.dir_spec("alpha")).await.unwrap();
    assert_eq!(
        applied.outcome,
        ApplyOutcome::Applied,
        "{}",
        applied.summary
    );

    // Same resources, one new output: Terraform prints no `Plan:` line for this.
    std::fs::write(
        scratch.repo().join("terraform/extra_output.tf"),
        "output \"extra\" {\n  value = \"new\"\n}\n",
    )
    .unwrap();
    let report = runner.plan(&scratch.dir_spec("alpha")).await.unwrap();
    assert_eq!(
        report.outcome,
        PlanOutcome::Changes,
        "{}",
        report.output.text()
    );
    assert!(!report.counts.has_changes(), "{:?}", report.counts);
    assert_eq!(report.counts.outputs, 1);
    assert_eq!(
        report.summary,
        "Plan: 0 to add, 0 to change, 0 to destroy; 1 output change."
    );
    let comment = &render_plan_comments(&report, &CommentOptions::default())[0];
    assert!(!comment.contains("**No changes.**"), "{comment}");
}

#[tokio::test]
async fn configuration_code_cannot_plant_files_in_the_shared_plugin_cache() {
    // Plan and apply run the configuration's code (here a local-exec provisioner; an
    // `external` data source or a provider would do the same). A file planted in the shared
    // plugin cache would be started by later runs of other pull requests, or by an apply
    // that holds the cloud credentials.
    let scratch = Scratch::new();
    let config = scratch.config(real_terraform());
    let cache = config.plugin_cache_dir.clone();
    let runner = runner(config);
    std::fs::write(
        scratch.repo().join("terraform/plant.tf"),
        "resource \"terraform_data\" \"plant\" {\n  provisioner \"local-exec\" {\n    command = \"echo planted > \\\"$TF_PLUGIN_CACHE_DIR/planted\\\" && echo wrote-the-cache\"\n  }\n}\n",
    )
    .unwrap();
    let applied = runner.apply(&scratch.dir_spec("alpha")).await.unwrap();
    let output = applied.output.text();
    assert!(!cache.join("planted").exists(), "{output}");
    assert!(
        !output.contains("(local-exec): wrote-the-cache"),
        "{output}"
    );
    assert_eq!(applied.outcome, ApplyOutcome::Failed, "{output}");
    assert!(output.contains("Read-only file system"), "{output}");
}

/// The installed bubblewrap, as the runner finds it on PATH.
fn installed_bwrap() -> std::path::PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join("bwrap"))
        .find(|candidate| candidate.is_file())
        .expect("these tests need bubblewrap (apt-get install bubblewrap)")
}

/// Bubblewrap removed under a running runner whose sandbox worked: the next plan is refused
/// as a sandbox that cannot be used, naming the missing program and the fix, not as a
/// terraform that "could not be run"; and the runner's readiness answer says the same.
#[tokio::test]
async fn a_sandbox_that_stops_working_is_named_as_the_reason_a_run_fails() {
    let scratch = Scratch::new();
    let bwrap = scratch.dir.path().join("bwrap");
    std::fs::copy(installed_bwrap(), &bwrap).unwrap();
    let mut config = scratch.config(real_terraform());
    config.sandbox.bwrap = bwrap.clone();
    let runner = runner(config);
    let first = runner.plan(&scratch.dir_spec("alpha")).await.unwrap();
    assert_eq!(first.outcome, PlanOutcome::Changes, "{}", first.summary);
    runner.sandbox_usable().await.expect("the sandbox worked");

    std::fs::remove_file(&bwrap).unwrap();
    let refused = runner.plan(&scratch.dir_spec("alpha")).await.unwrap_err();
    let message = refused.to_string();
    assert!(
        matches!(refused, RunnerError::SandboxUnusable(_)),
        "{refused:?}"
    );
    assert!(message.contains(&bwrap.display().to_string()), "{message}");
    assert!(message.contains("apt-get install bubblewrap"), "{message}");
    let readiness = runner.sandbox_usable().await.unwrap_err();
    assert_eq!(readiness.to_string(), message);
    assert!(scratch.leftover_work_dirs().is_empty());
}

//! Terraform actions for real: Terraform 1.15.5 (scripts/setup-terraform.sh) with the
//! stand-in `ansible/aap` provider, whose `aap_job_launch` action calls a fake AAP
//! controller, on the `actions-repo` fixture (VMs as terraform_data, the action triggered
//! after they change, as in the repository's own module).

mod common;

use std::time::Duration;

use common::{Scratch, runner};
use promptops_terraform::comment::markdown::check_balance;
use promptops_terraform::comment::{CommentOptions, render_apply_comments};
use promptops_terraform::{
    ActionAddress, ApplyOutcome, FailureReason, Invocation, ResourceAddress, Runner,
};
use promptops_testkit::terraform_1_15;
use promptops_testkit::{AapJobResult, FakeAap};
use secrecy::SecretString;

const AAP_TOKEN: &str = "aap-token-77f1e2d3";
const API_TOKEN: &str = "api-token-5b0c9e41";

fn aap_runner(scratch: &Scratch, aap: &FakeAap) -> Runner {
    let (terraform, cli_config) = terraform_1_15();
    let mut config = scratch.config(terraform);
    config.env = vec![
        (
            "TF_CLI_CONFIG_FILE".into(),
            cli_config.display().to_string(),
        ),
        ("TF_VAR_aap_host".into(), aap.url()),
    ];
    config.secret_env = vec![
        ("AAP_TOKEN".into(), SecretString::from(AAP_TOKEN.to_owned())),
        (
            "TF_VAR_api_token".into(),
            SecretString::from(API_TOKEN.to_owned()),
        ),
    ];
    runner(config)
}

fn extra_vars(launch: &promptops_testkit::AapLaunch) -> serde_json::Value {
    serde_json::from_str(
        launch.body["extra_vars"]
            .as_str()
            .expect("extra_vars string"),
    )
    .unwrap()
}

#[tokio::test]
async fn apply_fires_the_action_and_invoke_runs_it_again_through_the_aap_api() {
    let scratch = Scratch::with_repo("actions-repo");
    let aap = FakeAap::start(AapJobResult::Successful).await;
    let runner = aap_runner(&scratch, &aap);
    let spec = scratch.dir_spec("alpha");

    let applied = runner.apply(&spec).await.unwrap();
    assert_eq!(
        applied.outcome,
        ApplyOutcome::Applied,
        "{}",
        applied.output.text()
    );
    assert_eq!(
        applied.summary,
        "Apply complete! Resources: 3 added, 0 changed, 0 destroyed. Actions: 1 invoked."
    );
    assert_eq!(
        applied.plan.actions[0].address,
        "action.aap_job_launch.configure_vm"
    );
    let launches = aap.launches();
    assert_eq!(
        launches.len(),
        1,
        "the after_create trigger launches one job"
    );
    assert_eq!(launches[0].job_template_id, 42);
    assert_eq!(
        launches[0].authorization.as_deref(),
        Some(format!("Bearer {AAP_TOKEN}").as_str())
    );
    assert_eq!(
        extra_vars(&launches[0]),
        serde_json::json!({"deployment_name": "alpha", "target_hosts": "alpha-0,alpha-1", "token": API_TOKEN})
    );

    let invoked = runner
        .invoke(&spec, "action.aap_job_launch.configure_vm")
        .await
        .unwrap();
    assert_eq!(
        invoked.outcome,
        ApplyOutcome::Applied,
        "{}",
        invoked.output.text()
    );
    assert_eq!(
        invoked.actions_summary.as_deref(),
        Some("Actions: 1 invoked.")
    );
    assert_eq!(
        invoked.summary,
        "Apply complete! Resources: 0 added, 0 changed, 0 destroyed. Actions: 1 invoked."
    );
    assert_eq!(
        invoked.plan.actions[0].address,
        "action.aap_job_launch.configure_vm"
    );
    let names = invoked
        .outputs
        .iter()
        .find(|o| o.name == "vm_names")
        .unwrap();
    assert_eq!(names.value, serde_json::json!(["alpha-0", "alpha-1"]));
    assert_eq!(aap.launches().len(), 2, "invoke launches a second job");
    assert!(
        invoked
            .output
            .contains("AAP job /api/controller/v2/jobs/2/ successful"),
        "{}",
        invoked.output.text()
    );

    // The invoke plan prints the action's extra_vars, which hold the planted token.
    assert!(
        invoked.output.contains(r#"token           = "***""#),
        "{}",
        invoked.output.text()
    );
    let comments = render_apply_comments(&invoked, &CommentOptions::default());
    assert!(comments[0].starts_with("<!-- promptops:apply deployment=alpha part=1/1 -->"));
    assert!(
        comments[0]
            .contains("\n### ✅ Terraform configure for `alpha` — Configured: 1 action invoked\n"),
        "{}",
        comments[0]
    );
    check_balance(&comments[0]).unwrap();
    for text in comments
        .iter()
        .chain([&invoked.output.text(), &applied.output.text()])
    {
        assert!(!text.contains(API_TOKEN), "{text}");
        assert!(!text.contains(AAP_TOKEN), "{text}");
    }
    assert_eq!(scratch.leftover_work_dirs(), Vec::<String>::new());
}

/// A module without the single-use resource to renew (this fixture has no Vault objects):
/// nothing is renewed and the action runs as with a bare invoke. (The renewal itself runs
/// against the repository's own module in crates/infra-contract/tests/configure_renewal.rs.)
#[tokio::test]
async fn an_invocation_renewing_a_resource_the_state_lacks_invokes_the_action_alone() {
    let scratch = Scratch::with_repo("actions-repo");
    let aap = FakeAap::start(AapJobResult::Successful).await;
    let runner = aap_runner(&scratch, &aap);
    let spec = scratch.dir_spec("alpha");
    let applied = runner.apply(&spec).await.unwrap();
    assert_eq!(applied.outcome, ApplyOutcome::Applied);

    let invocation =
        Invocation::of(ActionAddress::parse("action.aap_job_launch.configure_vm").unwrap())
            .renewing(
                ResourceAddress::parse("vault_approle_auth_backend_role_secret_id.configure")
                    .unwrap(),
            );
    let invoked = runner.invoke_with(&spec, &invocation).await.unwrap();
    assert_eq!(
        invoked.outcome,
        ApplyOutcome::Applied,
        "{}",
        invoked.output.text()
    );
    assert_eq!(invoked.plan.changes, Vec::new());
    assert_eq!(
        aap.launches().len(),
        2,
        "the apply's job and the invoked one"
    );
    assert!(
        !invoked.output.contains("-replace="),
        "{}",
        invoked.output.text()
    );
}

#[tokio::test]
async fn a_failed_aap_job_fails_the_invoke_with_the_providers_error() {
    let scratch = Scratch::with_repo("actions-repo");
    let aap = FakeAap::start(AapJobResult::Failed).await;
    let runner = aap_runner(&scratch, &aap);

    let report = runner
        .invoke(
            &scratch.dir_spec("alpha"),
            "action.aap_job_launch.configure_vm",
        )
        .await
        .unwrap();
    assert_eq!(
        report.outcome,
        ApplyOutcome::Failed,
        "{}",
        report.output.text()
    );
    assert_eq!(aap.launches().len(), 1);
    assert!(
        report.output.contains("AAP job failed"),
        "{}",
        report.output.text()
    );
    assert!(
        report.output.contains("Error when invoking action"),
        "{}",
        report.output.text()
    );
}

#[tokio::test]
async fn the_timeout_stops_terraform_waiting_for_a_job_that_never_finishes() {
    // SIGTERM reaches Terraform in the launcher, which stops the action it is waiting for
    // ("Interrupt received") as the standalone binary does.
    let scratch = Scratch::with_repo("actions-repo");
    let aap = FakeAap::start(AapJobResult::NeverFinishes).await;
    let (terraform, cli_config) = terraform_1_15();
    let mut config = scratch.config(terraform);
    config.env = vec![
        (
            "TF_CLI_CONFIG_FILE".into(),
            cli_config.display().to_string(),
        ),
        ("TF_VAR_aap_host".into(), aap.url()),
    ];
    config.timeout = Duration::from_secs(60);
    let runner = runner(config);

    let report = runner
        .invoke(
            &scratch.dir_spec("alpha"),
            "action.aap_job_launch.configure_vm",
        )
        .await
        .unwrap();
    assert_eq!(
        report.outcome,
        ApplyOutcome::Failed,
        "{}",
        report.output.text()
    );
    let failure = report.failure.expect("a failure");
    assert!(
        matches!(failure.reason, FailureReason::TimedOut { .. }),
        "{failure:?}"
    );
    assert_eq!(aap.launches().len(), 1);
    assert!(
        report.output.contains("Interrupt received"),
        "{}",
        report.output.text()
    );
    assert_eq!(scratch.leftover_work_dirs(), Vec::<String>::new());
}

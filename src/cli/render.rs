//! `promptops render`: one request through the same planner, validation and renderer the
//! service uses, printed instead of committed. Relied on from outside the repository:
//! stdout carries only the tfvars (or JSON), stderr the cost line, the lifetime read, the
//! plan's assumptions and what it did not use, or the reasons for a rejection, and the exit status says which
//! happened.

use std::path::Path;
use std::process::ExitCode;

use promptops_core::{Catalog, Policy, RenderContext, render_tfvars};
use promptops_planner::message::{Audience, explain};
use promptops_planner::{PlanError, PlanInput, Planner};

use crate::config::PlannerArgs;
use crate::repo_config::RepoConfig;

/// The request was rejected (validation, policy, mismatch with what was asked).
const EXIT_REJECTED: u8 = 1;
/// A file the command was given (`--policy`, `PROMPTOPS_CATALOG`) cannot be used.
const EXIT_BAD_INPUT_FILE: u8 = 2;
/// The planner could not produce an answer (model unreachable, unusable output).
const EXIT_UNAVAILABLE: u8 = 3;

/// The policy of a `--policy` file: the `policy:` section of a `.github/promptops.yml`-style
/// file, checked like the service checks a repository's.
pub fn load_policy(path: &Path, catalog: &Catalog) -> Result<Policy, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| format!("cannot read the policy file {}: {err}", path.display()))?;
    // The error names the repository file the policy normally lives in; here it is this one.
    let config = RepoConfig::parse(&text, catalog).map_err(|err| {
        format!(
            "the policy file {} is not valid: {}",
            path.display(),
            err.message
        )
    })?;
    Ok(config.policy)
}

#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// Use the rule-based planner even when an OpenAI key is set.
    #[arg(long)]
    pub offline: bool,
    /// Print the validated request as JSON instead of terraform.tfvars.
    #[arg(long)]
    pub json: bool,
    /// A YAML file with a `policy:` section, as in `.github/promptops.yml` (default: the
    /// default policy).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub planner: PlannerArgs,
    /// The request, in plain language.
    pub prompt: String,
}

pub async fn run(args: RenderArgs) -> ExitCode {
    let catalog = match args.planner.load_catalog() {
        Ok(catalog) => catalog,
        Err(err) => {
            eprintln!("promptops: {err:#}");
            return ExitCode::from(EXIT_BAD_INPUT_FILE);
        }
    };
    let policy = match args
        .policy
        .as_deref()
        .map(|path| load_policy(path, &catalog))
        .transpose()
    {
        Ok(policy) => policy.unwrap_or_default(),
        Err(err) => {
            eprintln!("promptops: {err}");
            return ExitCode::from(EXIT_BAD_INPUT_FILE);
        }
    };
    let policy_file = args.policy.as_ref().map(|p| p.display().to_string());
    let planner = Planner::from_settings(args.planner.planner_settings(args.offline));
    let input = PlanInput {
        title: String::new(),
        body: args.prompt.clone(),
        instructions: String::new(),
        current: None,
    };
    let outcome = match planner.plan(&input, &catalog, &policy).await {
        Ok(outcome) => outcome,
        Err(err) => {
            let audience = Audience::CommandLine {
                policy: &policy,
                policy_file: policy_file.as_deref(),
            };
            return report_plan_error(&err, audience);
        }
    };
    let request = &outcome.request;
    if args.json {
        match serde_json::to_string_pretty(request) {
            Ok(json) => println!("{json}"),
            Err(err) => {
                eprintln!("promptops: cannot encode the request as JSON: {err}");
                return ExitCode::from(EXIT_UNAVAILABLE);
            }
        }
    } else {
        let context = RenderContext {
            source: "command line".to_owned(),
            planner: outcome.planned_by.clone(),
        };
        print!("{}", render_tfvars(request, &context));
    }
    let cost = catalog.estimate(request);
    eprintln!(
        "estimated cost: {}/hour, {}/month for {} x {} ({} x {} per VM) in {} (prices as of {}; planned by {})",
        promptops_core::usd(cost.hourly_usd, 2),
        promptops_core::usd(cost.monthly_usd, 0),
        request.vm_count,
        request.machine_type,
        request.gpu_count,
        request.gpu_type,
        request.zone,
        catalog.prices_as_of(),
        outcome.planned_by,
    );
    print_reading(&outcome);
    ExitCode::SUCCESS
}

/// The lifetime read and the plan's assumptions, on stderr.
fn print_reading(outcome: &promptops_planner::PlanOutcome) {
    // The lifetime is not in the tfvars: the service keeps it and opens the destroy pull
    // request when it ends.
    if let Some(expiry) = &outcome.expiry {
        eprintln!("lifetime: {expiry}; a pull request destroying the deployment is opened then");
    }
    let assumptions = &outcome.request.assumptions;
    let notes = outcome
        .notes
        .iter()
        .filter(|note| !assumptions.contains(note));
    for line in assumptions.iter().chain(notes) {
        eprintln!("assumption: {line}");
    }
}

/// Says why nothing was planned and exits with the code that tells which case it was; a
/// planner that cannot answer points to `--offline`.
fn report_plan_error(err: &PlanError, audience: Audience<'_>) -> ExitCode {
    let code = exit_code_for(err);
    if code == EXIT_UNAVAILABLE {
        eprintln!("promptops: the planner could not answer:");
        eprintln!("{}", explain(err, audience));
        eprintln!(
            "promptops: `promptops render --offline \"...\"` plans with the rule-based planner, without the model"
        );
    } else {
        eprintln!("promptops: the request was not accepted:");
        eprintln!("{}", explain(err, audience));
    }
    ExitCode::from(code)
}

fn exit_code_for(err: &PlanError) -> u8 {
    match err {
        PlanError::ModelUnreachable(_) | PlanError::ModelOutputUnusable(_) => EXIT_UNAVAILABLE,
        _ => EXIT_REJECTED,
    }
}

//! `promptops eval FILE [--offline] [--json]`: plans every request of a labelled corpus
//! (JSON lines, see `promptops_planner::corpus`) with the configured planner and the default
//! policy (or `--policy FILE`), and prints field accuracy, refusal accuracy and each failure.
//! Nothing is committed or posted.

use std::process::ExitCode;

use promptops_core::Policy;
use promptops_planner::corpus::{Score, parse_corpus};
use promptops_planner::{PlanInput, Planner};

use crate::config::PlannerArgs;

/// The corpus could not be read or the planner could not be set up.
const EXIT_UNAVAILABLE: u8 = 3;

#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// Use the rule-based planner even when an OpenAI key is set.
    #[arg(long)]
    pub offline: bool,
    /// Print the score as JSON.
    #[arg(long)]
    pub json: bool,
    /// A YAML file with a `policy:` section (default: the default policy).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub planner: PlannerArgs,
    /// The corpus: one JSON object per line with `text` and `expect` or `refuse`.
    pub corpus: std::path::PathBuf,
}

pub async fn run(args: EvalArgs) -> ExitCode {
    let catalog = match args.planner.load_catalog() {
        Ok(catalog) => catalog,
        Err(err) => {
            eprintln!("promptops: {err:#}");
            return ExitCode::from(EXIT_UNAVAILABLE);
        }
    };
    let policy = match args
        .policy
        .as_deref()
        .map(|path| crate::cli::render::load_policy(path, &catalog))
        .transpose()
    {
        Ok(policy) => policy.unwrap_or_else(Policy::default),
        Err(err) => {
            eprintln!("promptops: {err}");
            return ExitCode::from(EXIT_UNAVAILABLE);
        }
    };
    let entries = match std::fs::read_to_string(&args.corpus)
        .map_err(|err| err.to_string())
        .and_then(|text| parse_corpus(&text))
    {
        Ok(entries) => entries,
        Err(err) => {
            eprintln!(
                "promptops: cannot read the corpus {}: {err}",
                args.corpus.display()
            );
            return ExitCode::from(EXIT_UNAVAILABLE);
        }
    };
    let planner = Planner::from_settings(args.planner.planner_settings(args.offline));
    let mut score = Score::default();
    for entry in &entries {
        let input = PlanInput {
            body: entry.text.clone(),
            ..PlanInput::default()
        };
        let result = planner.plan(&input, &catalog, &policy).await;
        score.add(entry, &result);
    }
    if args.json {
        match serde_json::to_string_pretty(&score) {
            Ok(json) => println!("{json}"),
            Err(err) => {
                eprintln!("promptops: cannot encode the score: {err}");
                return ExitCode::from(EXIT_UNAVAILABLE);
            }
        }
    } else {
        print_report(&planner.describe(), &score);
    }
    ExitCode::SUCCESS
}

fn print_report(planner: &str, score: &Score) {
    println!(
        "planner: {planner}\nrequests: {}\nfield accuracy: {:.1}% ({} of {} expected fields)\nrefusal accuracy: {:.1}% ({} of {} must-refuse requests refused; {:.1}% for the labelled reason)",
        score.requests,
        score.field_accuracy() * 100.0,
        score.fields_correct,
        score.fields_expected,
        score.refusal_accuracy() * 100.0,
        score.refused,
        score.must_refuse,
        score.reason_accuracy() * 100.0,
    );
    println!("failures: {}", score.failures.len());
    for failure in &score.failures {
        println!(
            "- [{}] {:?}: {}",
            failure.category, failure.text, failure.problem
        );
    }
}

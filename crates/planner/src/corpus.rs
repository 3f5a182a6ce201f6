//! Scoring a planner on a labelled corpus of requests (`promptops eval`). Each entry is one
//! JSON line: the request `text`, and either `expect` (the fields a correct plan has) or
//! `refuse` (the reason class of the expected refusal). Field accuracy counts the expected
//! fields a plan got right (a refused request that should have been planned gets none);
//! refusal accuracy counts the must-refuse requests that were refused; every miss is listed.

use serde::{Deserialize, Serialize};

use promptops_core::DeploymentRequest;

use crate::{PlanError, PlanOutcome, RefusalKind};

/// The fields a plan is scored on; absent ones are not scored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedFields {
    pub name: Option<String>,
    pub vm_count: Option<u32>,
    pub gpu_type: Option<String>,
    pub gpu_count: Option<u32>,
    pub machine_type: Option<String>,
    pub region: Option<String>,
    pub zone: Option<String>,
    pub boot_disk_size_gb: Option<u32>,
}

/// Why a request is refused, in the classes the corpus labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalClass {
    Empty,
    NoRequest,
    Delete,
    OtherCloud,
    PolicyOverride,
    /// The catalog or the policy refuses a value (a limit, a GPU count the GPU does not come in).
    Invalid,
    /// A name the catalog does not know, or a number that cannot be read.
    Unreadable,
    /// Two values for one field.
    Ambiguous,
    /// The plan contradicts what the request states.
    Mismatch,
    /// The planner failed (model unreachable or unusable answer).
    PlannerFailed,
}

impl RefusalClass {
    pub fn of(err: &PlanError) -> RefusalClass {
        match err {
            PlanError::NotARequest(refusal) => match refusal.kind {
                RefusalKind::Empty => RefusalClass::Empty,
                RefusalKind::NoRequest => RefusalClass::NoRequest,
                RefusalKind::Delete => RefusalClass::Delete,
                RefusalKind::OtherCloud => RefusalClass::OtherCloud,
                RefusalKind::PolicyOverride => RefusalClass::PolicyOverride,
            },
            PlanError::Rejected(_) => RefusalClass::Invalid,
            PlanError::UnknownMention(_) => RefusalClass::Unreadable,
            PlanError::AmbiguousMention(_) => RefusalClass::Ambiguous,
            PlanError::MismatchWithRequest(_) => RefusalClass::Mismatch,
            PlanError::ModelUnreachable(_) | PlanError::ModelOutputUnusable(_) => {
                RefusalClass::PlannerFailed
            }
        }
    }
}

/// One labelled request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorpusEntry {
    pub text: String,
    /// A free label for grouping ("numbers", "comparison", "other-language"...).
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub expect: Option<ExpectedFields>,
    #[serde(default)]
    pub refuse: Option<RefusalClass>,
}

/// Reads a JSON-lines corpus; blank lines are skipped. Errors name the line.
pub fn parse_corpus(text: &str) -> Result<Vec<CorpusEntry>, String> {
    let mut entries = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let entry: CorpusEntry =
            serde_json::from_str(line).map_err(|err| format!("line {}: {err}", index + 1))?;
        match (&entry.expect, &entry.refuse) {
            (Some(_), None) | (None, Some(_)) => entries.push(entry),
            _ => {
                return Err(format!(
                    "line {}: give exactly one of \"expect\" and \"refuse\"",
                    index + 1
                ));
            }
        }
    }
    Ok(entries)
}

/// One miss, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub text: String,
    pub category: String,
    pub problem: String,
}

/// The scores of one run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Score {
    pub requests: usize,
    pub fields_expected: usize,
    pub fields_correct: usize,
    pub must_refuse: usize,
    pub refused: usize,
    /// Refused with the labelled reason class.
    pub refused_for_the_reason: usize,
    pub failures: Vec<Failure>,
}

impl Score {
    pub fn field_accuracy(&self) -> f64 {
        ratio(self.fields_correct, self.fields_expected)
    }

    pub fn refusal_accuracy(&self) -> f64 {
        ratio(self.refused, self.must_refuse)
    }

    pub fn reason_accuracy(&self) -> f64 {
        ratio(self.refused_for_the_reason, self.must_refuse)
    }

    /// Adds one entry's result.
    pub fn add(&mut self, entry: &CorpusEntry, result: &Result<PlanOutcome, PlanError>) {
        self.requests += 1;
        let mut fail = |problem: String| {
            self.failures.push(Failure {
                text: entry.text.clone(),
                category: entry.category.clone(),
                problem,
            });
        };
        if let Some(reason) = entry.refuse {
            self.must_refuse += 1;
            match result {
                Ok(outcome) => fail(format!(
                    "planned instead of refused ({reason:?}): {} x {} x {} in {}",
                    outcome.request.vm_count,
                    outcome.request.gpu_count,
                    outcome.request.gpu_type,
                    outcome.request.zone
                )),
                Err(err) => {
                    self.refused += 1;
                    let class = RefusalClass::of(err);
                    if class == reason {
                        self.refused_for_the_reason += 1;
                    } else {
                        fail(format!(
                            "refused, but as {class:?} instead of {reason:?}: {}",
                            first_line(err)
                        ));
                    }
                }
            }
            return;
        }
        let Some(expected) = &entry.expect else {
            return;
        };
        let total = expected_count(expected);
        self.fields_expected += total;
        match result {
            Err(err) => fail(format!(
                "refused ({:?}) instead of planned: {}",
                RefusalClass::of(err),
                first_line(err)
            )),
            Ok(outcome) => {
                let wrong = compare(expected, &outcome.request);
                self.fields_correct += total - wrong.len();
                if !wrong.is_empty() {
                    fail(wrong.join("; "));
                }
            }
        }
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        1.0
    } else {
        part as f64 / whole as f64
    }
}

fn first_line(err: &PlanError) -> String {
    err.to_string()
        .lines()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The labelled fields by name, `None` where the entry does not label one.
fn expected_values(expected: &ExpectedFields) -> [(&'static str, Option<String>); 8] {
    let number = |value: Option<u32>| value.map(|v| v.to_string());
    [
        ("name", expected.name.clone()),
        ("vm_count", number(expected.vm_count)),
        ("gpu_type", expected.gpu_type.clone()),
        ("gpu_count", number(expected.gpu_count)),
        ("machine_type", expected.machine_type.clone()),
        ("region", expected.region.clone()),
        ("zone", expected.zone.clone()),
        ("boot_disk_size_gb", number(expected.boot_disk_size_gb)),
    ]
}

/// The same fields of a plan, in the same order.
fn planned_values(request: &DeploymentRequest) -> [String; 8] {
    [
        request.name.clone(),
        request.vm_count.to_string(),
        request.gpu_type.clone(),
        request.gpu_count.to_string(),
        request.machine_type.clone(),
        request.region().to_owned(),
        request.zone.clone(),
        request.boot_disk_size_gb.to_string(),
    ]
}

fn expected_count(expected: &ExpectedFields) -> usize {
    expected_values(expected)
        .iter()
        .filter(|(_, want)| want.is_some())
        .count()
}

/// One sentence per expected field the result got wrong.
fn compare(expected: &ExpectedFields, request: &DeploymentRequest) -> Vec<String> {
    expected_values(expected)
        .into_iter()
        .zip(planned_values(request))
        .filter_map(|((field, want), got)| {
            want.filter(|want| *want != got)
                .map(|want| format!("{field}: expected {want}, planned {got}"))
        })
        .collect()
}

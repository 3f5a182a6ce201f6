//! A run's plan: `init`, `plan`, `show -json`, and the report read from the plan JSON
//! (masked with the values the plan marks sensitive).

use std::path::PathBuf;

use super::{Runner, Step, Workspace};
use crate::capture::{OutputCapture, RunOutput, remask_file};
use crate::error::RunnerError;
use crate::mask::Masker;
use crate::plan_json::{PlanJson, actions_line, read_plan_json, summary_line};
use crate::report::{
    ActionInvocation, ChangeCounts, FailureReason, PlanOutcome, PlanReport, StepFailure,
};
use crate::run_logs::LogPhase;
use crate::spec::PlanSpec;
use crate::summary::{failure_summary, plan_summary};

impl Runner {
    /// Runs init, plan and show; returns the report and the masker extended with the
    /// values the plan marks sensitive.
    pub(super) async fn plan_in(
        &self,
        ws: &Workspace,
        spec: &PlanSpec,
    ) -> Result<(PlanReport, Masker), RunnerError> {
        let phase = if spec.mode.is_destroy() {
            LogPhase::DestroyPlan
        } else {
            LogPhase::Plan
        };
        let capture = self.capture(ws, phase, &self.inner.masker)?;
        let mut report = self.base_report(ws, spec);
        let (init, capture) = self.init(ws, spec, capture).await?;
        if let Some(failure) = init {
            return self.plan_failed(report, failure, capture);
        }
        let args = plan_args(ws, spec);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (step, capture) = self.step(ws, capture, "plan", &args, None).await?;
        match plan_outcome(step) {
            Ok(outcome) => report.outcome = outcome,
            Err(failure) => return self.plan_failed(report, failure, capture),
        }
        let json_path = ws.root.join("plan.json");
        let (show, capture) = self
            .step(
                ws,
                capture,
                "show",
                &["show", "-json", "-no-color", "plan.bin"],
                Some(json_path.clone()),
            )
            .await?;
        if let Some(failure) = show.failure("show") {
            report.outcome = PlanOutcome::Failed;
            return self.plan_failed(report, failure, capture);
        }
        self.read_plan(report, json_path, capture).await
    }

    pub(super) fn base_report(&self, ws: &Workspace, spec: &PlanSpec) -> PlanReport {
        PlanReport {
            deployment: spec.deployment.clone(),
            commit: spec.commit.clone(),
            terraform_version: ws.version,
            destroy: spec.mode.is_destroy(),
            outcome: PlanOutcome::Failed,
            summary: String::new(),
            changes: Vec::new(),
            counts: ChangeCounts::default(),
            actions: Vec::new(),
            failure: None,
            output: RunOutput::default(),
            findings: crate::findings::PlanFindings::default(),
        }
    }

    /// The report of a plan that stopped at `failure`, with the log so far.
    fn plan_failed(
        &self,
        mut report: PlanReport,
        failure: StepFailure,
        capture: OutputCapture,
    ) -> Result<(PlanReport, Masker), RunnerError> {
        report.output = finish(capture)?;
        report.summary = failure_summary(&failure, &report.output);
        report.failure = Some(failure);
        Ok((report, self.inner.masker.clone()))
    }

    /// Reads the plan JSON into `report`; the log and every address are masked with the
    /// plan's sensitive values too.
    async fn read_plan(
        &self,
        report: PlanReport,
        json_path: PathBuf,
        capture: OutputCapture,
    ) -> Result<(PlanReport, Masker), RunnerError> {
        let started = std::time::Instant::now();
        let mut parsed = tokio::task::spawn_blocking(move || read_plan_json(&json_path))
            .await
            .map_err(|err| RunnerError::BadPlanJson(err.to_string()))?
            .map_err(RunnerError::BadPlanJson)?;
        tracing::debug!(
            elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
            "plan JSON read"
        );
        let masker = self
            .inner
            .masker
            .with_values(std::mem::take(&mut parsed.sensitive_values));
        let mut output = finish(capture)?;
        // The log was masked as it was written, with every value but the plan's own
        // sensitive ones: only those call for a second pass.
        if masker.has_more_layers_than(&self.inner.masker) {
            remask_file(&output.log_path, &masker).map_err(RunnerError::io("mask the run log"))?;
            output.head = masker.mask_str(&output.head);
            output.tail = masker.mask_str(&output.tail);
        }
        mask_addresses(&mut parsed, &masker);
        tracing::debug!(
            elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
            masked = !masker.is_empty(),
            "plan report masked"
        );
        Ok((planned_report(report, parsed, output), masker))
    }
}

/// `terraform plan`'s arguments: the plan saved to `plan.bin`, the deployment's variables
/// when its file exists.
fn plan_args(ws: &Workspace, spec: &PlanSpec) -> Vec<String> {
    let mut args: Vec<String> = [
        "plan",
        "-input=false",
        "-no-color",
        "-detailed-exitcode",
        "-out=plan.bin",
    ]
    .map(String::from)
    .into();
    if spec.mode.is_destroy() {
        args.push("-destroy".into());
    }
    if ws.module.join(&spec.var_file).is_file() {
        args.push(format!("-var-file={}", spec.var_file.display()));
    }
    args
}

/// What `plan -detailed-exitcode` exiting says: 0 no changes, 2 changes, else a failure.
fn plan_outcome(step: Step) -> Result<PlanOutcome, StepFailure> {
    match step {
        Step::Exited(0) => Ok(PlanOutcome::NoChanges),
        Step::Exited(2) => Ok(PlanOutcome::Changes),
        Step::Exited(code) => Err(StepFailure {
            step: "plan".into(),
            reason: FailureReason::ExitCode(code),
        }),
        Step::Failed(failure) => Err(failure),
    }
}

fn finish(capture: OutputCapture) -> Result<RunOutput, RunnerError> {
    capture
        .finish()
        .map_err(RunnerError::io("write the run log"))
}

/// Resource keys (for_each) can carry values too, and so can the findings (a firewall's
/// name, an output's value).
fn mask_addresses(parsed: &mut PlanJson, masker: &Masker) {
    parsed.findings = std::mem::take(&mut parsed.findings).masked(masker);
    for change in parsed.changes.iter_mut().chain(parsed.unchanged.iter_mut()) {
        change.address = masker.mask_str(&change.address);
    }
    for action in parsed.actions.iter_mut() {
        action.address = masker.mask_str(&action.address);
        action.triggered_by = action.triggered_by.as_deref().map(|a| masker.mask_str(a));
    }
}

/// `report` completed with the plan's changes, actions, counts and summary.
fn planned_report(mut report: PlanReport, parsed: PlanJson, output: RunOutput) -> PlanReport {
    let mut all = parsed.changes.clone();
    all.extend(parsed.unchanged);
    report.counts = ChangeCounts::from_changes(&all);
    report.counts.outputs = parsed.output_changes;
    report.changes = parsed.changes;
    report.actions = parsed.actions;
    report.findings = parsed.findings;
    let text = output.text();
    if report.actions.is_empty()
        && let Some((count, _)) = actions_line(&text)
    {
        // Older JSON without `action_invocations`: keep at least the count.
        report.actions = (0..count)
            .map(|_| ActionInvocation {
                address: "(action named in the plan output)".into(),
                triggered_by: None,
                event: None,
            })
            .collect();
    }
    report.summary = plan_summary(&report.counts, report.actions.len(), summary_line(&text));
    report.output = output;
    report
}

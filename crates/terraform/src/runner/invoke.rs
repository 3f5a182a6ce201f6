//! `terraform apply -invoke`: running one Terraform action of a deployment as it is, after
//! renewing the single-use inputs it names (see [`crate::invocation`]).

use super::{Runner, Workspace};
use crate::error::RunnerError;
use crate::invocation::{ActionAddress, Invocation};
use crate::plan_json::{actions_line, summary_line};
use crate::report::{ActionInvocation, ApplyOutcome, ApplyReport, ChangeCounts, PlanOutcome};
use crate::run_logs::LogPhase;
use crate::spec::PlanSpec;

use super::renew::Renewal;

impl Runner {
    /// init → `apply -invoke=<action> -auto-approve` (Terraform >= 1.14.1), e.g.
    /// `action.aap_job_launch.configure_vm`, on the state as it is.
    pub async fn invoke(&self, spec: &PlanSpec, action: &str) -> Result<ApplyReport, RunnerError> {
        let action = ActionAddress::parse(action)?;
        self.invoke_with(spec, &Invocation::of(action)).await
    }

    /// init → a targeted `apply -replace` of the invocation's single-use inputs (refused,
    /// with nothing changed, when it would change anything else) → `apply -invoke`.
    pub async fn invoke_with(
        &self,
        spec: &PlanSpec,
        invocation: &Invocation,
    ) -> Result<ApplyReport, RunnerError> {
        if spec.mode.is_destroy() {
            return Err(RunnerError::InvalidSpec {
                field: "mode",
                value: "destroy".into(),
                message: "an action is invoked on the deployment as it is: use the normal mode"
                    .into(),
            });
        }
        let reservation = self
            .reserve(&spec.deployment, super::RunPurpose::Invoke)
            .await?;
        let ws = self.prepare(reservation, spec, true).await?;
        let result = self.invoke_in(&ws, spec, invocation).await;
        self.prune_logs(&spec.deployment).await;
        result
    }

    /// init → renew → `apply -invoke` in a prepared work dir.
    async fn invoke_in(
        &self,
        ws: &Workspace,
        spec: &PlanSpec,
        invocation: &Invocation,
    ) -> Result<ApplyReport, RunnerError> {
        let action = invocation.action.as_str();
        let capture = self.capture(ws, LogPhase::Invoke, &self.inner.masker)?;
        let (init, capture) = self.init(ws, spec, capture).await?;
        let mut plan = self.base_report(ws, spec);
        plan.actions = vec![ActionInvocation {
            address: action.to_owned(),
            triggered_by: None,
            event: Some("invoke".to_owned()),
        }];
        let finish = |capture: crate::capture::OutputCapture| {
            capture
                .finish()
                .map_err(RunnerError::io("write the run log"))
        };
        if let Some(failure) = init {
            return Ok(self.failed_apply(plan, failure, finish(capture)?));
        }
        plan.outcome = PlanOutcome::Changes;
        plan.summary = format!("Invoke {action}.");
        let var_file = format!("-var-file={}", spec.var_file.display());
        let (renewal, capture) = self
            .renew(ws, capture, &var_file, &invocation.renew)
            .await?;
        match renewal {
            Renewal::Done(renewed) => {
                plan.counts = ChangeCounts::from_changes(&renewed);
                plan.changes = renewed;
            }
            Renewal::Failed(failure) => {
                return Ok(self.failed_apply(plan, failure, finish(capture)?));
            }
        }
        let invoke = format!("-invoke={action}");
        let args = [
            "apply",
            "-input=false",
            "-no-color",
            "-auto-approve",
            &var_file,
            &invoke,
        ];
        let (step, capture) = self.step(ws, capture, "apply", &args, None).await?;
        let output = finish(capture)?;
        if let Some(failure) = step.failure("apply") {
            return Ok(self.failed_apply(plan, failure, output));
        }
        let outputs = self.outputs(ws, &self.inner.masker).await?;
        let text = output.text();
        Ok(ApplyReport {
            plan,
            outcome: ApplyOutcome::Applied,
            summary: summary_line(&text).unwrap_or_else(|| format!("Invoked {action}.")),
            actions_summary: actions_line(&text).map(|(_, line)| line),
            outputs,
            failure: None,
            output,
        })
    }
}

//! `terraform apply -invoke`: running one Terraform action of a deployment as it is.

use std::sync::LazyLock;

use regex::Regex;

use super::{Runner, Workspace};
use crate::error::RunnerError;
use crate::plan_json::{actions_line, summary_line};
use crate::report::{ActionInvocation, ApplyOutcome, ApplyReport, PlanOutcome};
use crate::run_logs::LogPhase;
use crate::spec::PlanSpec;

/// An action address: `action.<type>.<name>`.
static ACTION_ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^action\.[A-Za-z_][A-Za-z0-9_-]*\.[A-Za-z_][A-Za-z0-9_-]*$")
        .expect("action address pattern")
});

impl Runner {
    /// init → `apply -invoke=<action> -auto-approve` (Terraform >= 1.14.1), e.g.
    /// `action.aap_job_launch.configure_vm`.
    pub async fn invoke(&self, spec: &PlanSpec, action: &str) -> Result<ApplyReport, RunnerError> {
        if !ACTION_ADDRESS.is_match(action) {
            return Err(RunnerError::InvalidSpec {
                field: "action",
                value: action.to_owned(),
                message: "must be an action address like action.aap_job_launch.configure_vm".into(),
            });
        }
        if spec.mode.is_destroy() {
            return Err(RunnerError::InvalidSpec {
                field: "mode",
                value: "destroy".into(),
                message: "an action is invoked on the deployment as it is: use the normal mode"
                    .into(),
            });
        }
        let ws = self.prepare(spec, "invoke", true).await?;
        let result = self.invoke_in(&ws, spec, action).await;
        self.prune_logs(&spec.deployment).await;
        result
    }

    /// init → `apply -invoke` in a prepared work dir.
    async fn invoke_in(
        &self,
        ws: &Workspace,
        spec: &PlanSpec,
        action: &str,
    ) -> Result<ApplyReport, RunnerError> {
        let capture = self.capture(ws, LogPhase::Invoke, &self.inner.masker)?;
        let (init, capture) = self.init(ws, spec, capture).await?;
        let mut plan = self.base_report(ws, spec);
        plan.actions = vec![ActionInvocation {
            address: action.to_owned(),
            triggered_by: None,
            event: Some("invoke".to_owned()),
        }];
        if let Some(failure) = init {
            return Ok(self.failed_apply(
                plan,
                failure,
                capture
                    .finish()
                    .map_err(RunnerError::io("write the run log"))?,
            ));
        }
        plan.outcome = PlanOutcome::Changes;
        plan.summary = format!("Invoke {action}.");
        let var_file = format!("-var-file={}", spec.var_file.display());
        let invoke = format!("-invoke={action}");
        let (step, capture) = self
            .step(
                ws,
                capture,
                "apply",
                &[
                    "apply",
                    "-input=false",
                    "-no-color",
                    "-auto-approve",
                    &var_file,
                    &invoke,
                ],
                None,
            )
            .await?;
        let output = capture
            .finish()
            .map_err(RunnerError::io("write the run log"))?;
        let failure = step.failure("apply");
        if let Some(failure) = failure {
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

//! Renewing an action's single-use inputs before `apply -invoke`: a normal-mode plan
//! targeted at them with `-replace`, checked to change nothing else, then applied. (`-invoke`
//! plans in refresh-only mode, where Terraform refuses `-replace`.)

use super::{Runner, Workspace};
use crate::capture::OutputCapture;
use crate::error::RunnerError;
use crate::invocation::ResourceAddress;
use crate::plan_json::read_plan_json;
use crate::report::{ResourceChange, StepFailure};

/// How a renewal ended.
pub(super) enum Renewal {
    /// The resource changes it applied (none when there was nothing to renew).
    Done(Vec<ResourceChange>),
    Failed(StepFailure),
}

impl Runner {
    pub(super) async fn renew(
        &self,
        ws: &Workspace,
        capture: OutputCapture,
        var_file: &str,
        renew: &[ResourceAddress],
    ) -> Result<(Renewal, OutputCapture), RunnerError> {
        let (renew, capture) = self.in_state(ws, capture, renew).await?;
        if renew.is_empty() {
            return Ok((Renewal::Done(Vec::new()), capture));
        }
        let flags: Vec<String> = renew
            .iter()
            .flat_map(|address| [format!("-target={address}"), format!("-replace={address}")])
            .collect();
        let mut args = vec![
            "plan",
            "-input=false",
            "-no-color",
            "-out=renew.bin",
            var_file,
        ];
        args.extend(flags.iter().map(String::as_str));
        let (step, capture) = self.step(ws, capture, "plan", &args, None).await?;
        if let Some(failure) = step.failure("plan") {
            return Ok((Renewal::Failed(failure), capture));
        }
        let json_path = ws.root.join("renew.json");
        let show = ["show", "-json", "-no-color", "renew.bin"];
        let (step, capture) = self
            .step(ws, capture, "show", &show, Some(json_path.clone()))
            .await?;
        if let Some(failure) = step.failure("show") {
            return Ok((Renewal::Failed(failure), capture));
        }
        let plan = tokio::task::spawn_blocking(move || read_plan_json(&json_path))
            .await
            .map_err(|err| RunnerError::BadPlanJson(err.to_string()))?
            .map_err(RunnerError::BadPlanJson)?;
        // A targeted plan still includes what the renewed resources depend on (the VMs,
        // through replace_triggered_by): a drifted dependency must not be changed on the
        // side of a configuration run.
        let others: Vec<String> = plan
            .changes
            .iter()
            .filter(|change| !renew.iter().any(|r| r.as_str() == change.address))
            .map(|change| format!("{} ({})", change.address, change.action.label()))
            .collect();
        if !others.is_empty() {
            let renewed: Vec<&str> = renew.iter().map(ResourceAddress::as_str).collect();
            return Err(RunnerError::RenewalWouldChangeMore {
                renewed: renewed.join(", "),
                others: others.join(", "),
            });
        }
        let apply = ["apply", "-input=false", "-no-color", "renew.bin"];
        let (step, capture) = self.step(ws, capture, "apply", &apply, None).await?;
        if let Some(failure) = step.failure("apply") {
            return Ok((Renewal::Failed(failure), capture));
        }
        Ok((Renewal::Done(plan.changes), capture))
    }

    /// Those of `wanted` the deployment's state holds (`terraform state list`): a module
    /// that declares no such resource has nothing to renew. (`state list <address>` fails
    /// on an address the state lacks, hence the whole list.) A state that cannot be listed
    /// (none yet) renews nothing: the invoke then says what is wrong with it.
    async fn in_state(
        &self,
        ws: &Workspace,
        capture: OutputCapture,
        wanted: &[ResourceAddress],
    ) -> Result<(Vec<ResourceAddress>, OutputCapture), RunnerError> {
        if wanted.is_empty() {
            return Ok((Vec::new(), capture));
        }
        let listed = ws.root.join("state-list.txt");
        let (step, capture) = self
            .step(
                ws,
                capture,
                "state list",
                &["state", "list"],
                Some(listed.clone()),
            )
            .await?;
        if step.failure("state list").is_some() {
            return Ok((Vec::new(), capture));
        }
        let listed = std::fs::read_to_string(&listed)
            .map_err(RunnerError::io("read the output of terraform state list"))?;
        let held = wanted
            .iter()
            .filter(|address| listed.lines().any(|line| line.trim() == address.as_str()))
            .cloned()
            .collect();
        Ok((held, capture))
    }
}

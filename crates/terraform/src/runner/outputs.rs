//! Reading a deployment's outputs after an apply.

use super::{Runner, Step, Workspace};
use crate::error::RunnerError;
use crate::mask::Masker;
use crate::report::OutputValue;
use crate::run_logs::LogPhase;

impl Runner {
    /// `terraform output -json`; sensitive values become `"***"`, others are masked.
    /// Outputs that cannot be read are reported as none (the apply itself succeeded).
    pub(super) async fn outputs(
        &self,
        ws: &Workspace,
        masker: &Masker,
    ) -> Result<Vec<OutputValue>, RunnerError> {
        let json_path = ws.root.join("outputs.json");
        let capture = self.capture(ws, LogPhase::Output, masker)?;
        let (step, capture) = self
            .step(
                ws,
                capture,
                "output",
                &["output", "-json", "-no-color"],
                Some(json_path.clone()),
            )
            .await?;
        capture
            .finish()
            .map_err(RunnerError::io("write the run log"))?;
        if !matches!(step, Step::Exited(0)) {
            return Ok(Vec::new());
        }
        let text = std::fs::read_to_string(&json_path)
            .map_err(RunnerError::io("read terraform outputs"))?;
        let parsed: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&text).unwrap_or_default();
        Ok(parsed
            .into_iter()
            .map(|(name, entry)| {
                let sensitive = entry.get("sensitive") == Some(&serde_json::Value::Bool(true));
                let value = if sensitive {
                    serde_json::Value::String(crate::mask::MASK.into())
                } else {
                    masker.mask_json(entry.get("value").cloned().unwrap_or_default())
                };
                OutputValue {
                    name,
                    value,
                    sensitive,
                }
            })
            .collect())
    }
}

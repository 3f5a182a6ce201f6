//! Check runs on commits.

use http::Method;
use promptops_core::RepoName;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::transport::{Sent, enc_segment};
use super::{
    CheckOutput, CheckRunUpdate, CheckStatus, GithubError, InvalidInput, NewCheckRun, RepoApi,
    Result, repo_route,
};

#[derive(Deserialize)]
struct CheckRunJson {
    id: u64,
    external_id: Option<String>,
}

#[derive(Deserialize)]
struct CheckRunList {
    check_runs: Vec<CheckRunJson>,
}

/// GitHub's limit on `output.summary` and `output.text`, in characters.
pub const CHECK_OUTPUT_LIMIT_CHARS: usize = 65_535;

const TRUNCATED: &str = "… (output truncated; the end is kept)\n";

/// The output as GitHub takes it. A too-long `text` keeps its end (where Terraform puts the
/// summary and errors); a too-long `summary` is refused, since it is ours to keep short.
fn output_json(operation: &str, o: &CheckOutput) -> Result<Value> {
    let n = o.summary.chars().count();
    if n > CHECK_OUTPUT_LIMIT_CHARS {
        return Err(GithubError::Invalid {
            operation: operation.to_string(),
            problem: InvalidInput::CheckSummaryTooLong { chars: n },
        });
    }
    let mut v = json!({ "title": o.title, "summary": o.summary });
    if let Some(t) = &o.text {
        let len = t.chars().count();
        let text = if len > CHECK_OUTPUT_LIMIT_CHARS {
            let keep = CHECK_OUTPUT_LIMIT_CHARS - TRUNCATED.chars().count();
            let tail: String = t.chars().skip(len - keep).collect();
            format!("{TRUNCATED}{tail}")
        } else {
            t.clone()
        };
        v["text"] = json!(text);
    }
    Ok(v)
}

impl RepoApi {
    /// Creates a check run; returns its id. If the answer is lost, the run is looked up by its
    /// `external_id` on the commit before trying again.
    pub async fn create_check_run(&self, repo: &RepoName, new: &NewCheckRun) -> Result<u64> {
        let op = format!("create check run {} on {}", new.name, new.head_sha);
        if new.status == CheckStatus::Completed && new.conclusion.is_none() {
            return Err(GithubError::Invalid {
                operation: op,
                problem: InvalidInput::CompletedWithoutConclusion,
            });
        }
        let external_id = new
            .external_id
            .clone()
            .unwrap_or_else(|| format!("promptops-{:016x}", fastrand::u64(..)));
        let mut body = json!({
            "name": new.name,
            "head_sha": new.head_sha,
            "status": new.status.as_str(),
            "external_id": external_id,
        });
        if let Some(c) = new.conclusion {
            body["conclusion"] = json!(c.as_str());
            body["status"] = json!("completed");
        }
        if let Some(o) = &new.output {
            body["output"] = output_json(&op, o)?;
        }
        if let Some(u) = &new.details_url {
            body["details_url"] = json!(u);
        }
        if let Some(buttons) = &new.buttons {
            body["actions"] = json!(buttons);
        }
        let route = format!("{}/check-runs", repo_route(repo));
        let list_route = format!(
            "{}/commits/{}/check-runs?per_page=100",
            repo_route(repo),
            enc_segment(new.head_sha.as_str())
        );
        let (op_ref, list_route, external_id) = (&op, &list_route, &external_id);
        let settled = move || async move {
            let list: CheckRunList = self.t.get_json(op_ref, list_route).await?;
            Ok(list
                .check_runs
                .into_iter()
                .find(|r| r.external_id.as_deref() == Some(external_id.as_str()))
                .map(|r| r.id))
        };
        match self
            .t
            .send_create(&op, Method::POST, &route, Some(&body), settled)
            .await?
        {
            Sent::AlreadyDone(id) => Ok(id),
            Sent::Answer(a) => Ok(a.success_json::<CheckRunJson>(&op)?.id),
        }
    }

    /// Updates a check run (safe to repeat).
    pub async fn update_check_run(
        &self,
        repo: &RepoName,
        check_run_id: u64,
        update: &CheckRunUpdate,
    ) -> Result<()> {
        let op = format!("update check run {check_run_id}");
        let mut body = Map::new();
        if let Some(s) = update.status {
            body.insert("status".into(), json!(s.as_str()));
        }
        if let Some(c) = update.conclusion {
            body.insert("conclusion".into(), json!(c.as_str()));
            body.insert("status".into(), json!("completed"));
        }
        if let Some(o) = &update.output {
            body.insert("output".into(), output_json(&op, o)?);
        }
        if let Some(u) = &update.details_url {
            body.insert("details_url".into(), json!(u));
        }
        let route = format!("{}/check-runs/{check_run_id}", repo_route(repo));
        self.t
            .send(&op, Method::PATCH, &route, Some(&Value::Object(body)))
            .await?
            .success_json::<CheckRunJson>(&op)
            .map(|_| ())
    }
}

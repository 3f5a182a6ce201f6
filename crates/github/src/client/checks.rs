//! Check runs on commits.

use http::Method;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::transport::{Sent, enc_segment};
use super::{CheckOutput, CheckRunUpdate, NewCheckRun, RepoApi, Result, repo_route};

#[derive(Deserialize)]
struct CheckRunJson {
    id: u64,
    external_id: Option<String>,
}

#[derive(Deserialize)]
struct CheckRunList {
    check_runs: Vec<CheckRunJson>,
}

fn output_json(o: &CheckOutput) -> Value {
    let mut v = json!({ "title": o.title, "summary": o.summary });
    if let Some(t) = &o.text {
        v["text"] = json!(t);
    }
    v
}

impl RepoApi {
    /// Creates a check run; returns its id. If the answer is lost, the run is looked up by its
    /// `external_id` on the commit before trying again.
    pub async fn create_check_run(
        &self,
        owner: &str,
        repo: &str,
        new: &NewCheckRun,
    ) -> Result<u64> {
        let op = format!("create check run {} on {}", new.name, new.head_sha);
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
            body["output"] = output_json(o);
        }
        if let Some(u) = &new.details_url {
            body["details_url"] = json!(u);
        }
        let route = format!("{}/check-runs", repo_route(owner, repo));
        let list_route = format!(
            "{}/commits/{}/check-runs",
            repo_route(owner, repo),
            enc_segment(&new.head_sha)
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
        owner: &str,
        repo: &str,
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
            body.insert("output".into(), output_json(o));
        }
        if let Some(u) = &update.details_url {
            body.insert("details_url".into(), json!(u));
        }
        let route = format!("{}/check-runs/{check_run_id}", repo_route(owner, repo));
        self.t
            .send(&op, Method::PATCH, &route, Some(&Value::Object(body)))
            .await?
            .success_json::<CheckRunJson>(&op)
            .map(|_| ())
    }
}

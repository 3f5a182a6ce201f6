//! A request's way through the service as the expiry tests walk it: planned from its issue
//! into a pull request, merged and applied, and its scheduled jobs run as the clock moves.

use chrono::TimeDelta;
use promptops_testkit::ManualClock;

use super::Lifecycle;
use promptops_core::{IssueNumber, PrNumber};

use crate::support::{IssueRef, REPO, repo_name};

/// What planning an issue recorded: the deployment it names and the pull request opened
/// for it.
pub struct PlannedRequest {
    pub deployment: String,
    pub pr: u64,
}

impl Lifecycle {
    /// Opens issue `title` with `body` by alice.
    pub fn open_issue(&self, title: &str, body: &str) -> IssueRef {
        IssueRef::open(&self.service.github, "alice", title, body)
    }

    /// `/promptops plan` by alice on `issue`; the request it recorded, with its pull request.
    pub async fn plan_issue(&mut self, issue: &IssueRef) -> PlannedRequest {
        self.command(issue, "/promptops plan").await;
        let request = self
            .service
            .store
            .request_for_issue(&repo_name(), IssueNumber::new(issue.number))
            .await
            .unwrap()
            .expect("the request is recorded");
        PlannedRequest {
            pr: request.pr.expect("a pull request was opened").get(),
            deployment: request.deployment,
        }
    }

    /// Opens `deployment`'s pull request on `promptops/issue-1` for `issue` (as planning
    /// would, `opened` delivered and planned) and records the request linking the two.
    pub async fn open_request_pr(&mut self, issue: u64, deployment: &str, tfvars: &str) -> u64 {
        let branch = "promptops/issue-1";
        let pr = self.open_pr(branch, deployment, tfvars, "alice").await;
        self.service
            .store
            .upsert_request(
                &repo_name(),
                IssueNumber::new(issue),
                deployment,
                branch,
                Some(PrNumber::new(pr)),
            )
            .await
            .unwrap();
        pr
    }

    /// Pull request `pr` as GitHub takes it in: `opened` delivered (the plan), merged,
    /// `closed` delivered (the apply).
    pub async fn open_merge_and_apply(&mut self, pr: u64) {
        self.deliver(pr, "opened").await;
        self.service.github.merge_pr(REPO, pr);
        self.deliver(pr, "closed").await;
    }

    /// Moves `clock` on by `by` and waits for the one job that became due; its kind.
    pub async fn advance_and_run(&mut self, clock: &ManualClock, by: TimeDelta) -> String {
        clock.advance(by);
        self.service.job_done().await.kind
    }
}

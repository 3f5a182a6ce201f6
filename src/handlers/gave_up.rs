//! What a job that failed its last attempt says where it was asked for. The queue retries a
//! failed job with backoff; once its attempts are used up nobody would otherwise hear of it
//! but the operator, and the person who commented or pushed would wait for ever.
//!
//! The comment names the job, not its error: errors can hold what GitHub or Terraform said
//! about private things, and the pull request may be public. The error is in the service's
//! log (each line of a job carries its `job_id`) and in the job's row (`last_error`).
//!
//! A comment's commands are answered as the commands themselves are: only to someone who
//! can triage (see `commands`), so that an outsider's comments never make the bot write,
//! even when GitHub fails under them.

use promptops_core::IssueNumber;
use tracing::info;

use super::commands::ANSWERED_FROM;
use super::comment_key::job_key;
use super::{Handlers, RepoCtx};
use crate::pipeline::jobs::JobPayload;

/// Where a job answers and what it was doing.
struct Asked<'a> {
    thread: IssueNumber,
    what: &'static str,
    retry: &'static str,
    /// Whose comment asked, when anyone may comment: answered only if they can triage.
    commenter: Option<&'a str>,
}

impl<'a> Asked<'a> {
    /// `None` for scheduled work (expiry, drift, merge-queue checks): nobody is waiting on
    /// a thread for it, and its own reports and metrics show that it did not run.
    fn of(payload: &'a JobPayload) -> Option<Asked<'a>> {
        let asked = |thread: IssueNumber, what, retry| Asked {
            thread,
            what,
            retry,
            commenter: None,
        };
        match payload {
            JobPayload::CommentCommands { issue, author, .. } => Some(Asked {
                commenter: Some(author),
                ..asked(
                    issue.number,
                    "the `/promptops` commands of a comment here",
                    "Comment the command again to try once more.",
                )
            }),
            JobPayload::PlanIssue { issue, .. } => Some(asked(
                issue.number,
                "planning this request",
                "Comment `/promptops plan` to try once more.",
            )),
            JobPayload::PlanPr { pr, .. } => Some(asked(
                pr.number.into(),
                "planning this pull request",
                "Push, or comment `/promptops plan`, to try once more.",
            )),
            JobPayload::PrClosed { pr, .. } if pr.merged => Some(asked(
                pr.number.into(),
                "applying this merge",
                "Comment `/promptops apply` here to try once more.",
            )),
            JobPayload::PrClosed { pr, .. } => Some(asked(
                pr.number.into(),
                "releasing the deployment locks of this closed pull request",
                "Comment `/promptops unlock` here to try once more.",
            )),
            JobPayload::CheckButton { pr, .. } => Some(asked(
                (*pr).into(),
                "the command of a check-run button",
                "Click the button again to try once more.",
            )),
            JobPayload::Expiry { .. }
            | JobPayload::DriftCheck { .. }
            | JobPayload::MergeGroupCheck { .. } => None,
        }
    }
}

impl Handlers {
    /// Tells the thread `payload` answers that job `job_id` failed all its `attempts`.
    pub async fn tell_gave_up(
        &self,
        job_id: i64,
        payload: &JobPayload,
        attempts: u32,
    ) -> anyhow::Result<()> {
        let Some(asked) = Asked::of(payload) else {
            return Ok(());
        };
        let repo = RepoCtx::new(self, payload.repo())?;
        if let Some(commenter) = asked.commenter {
            let (answered, role) = repo.has_permission(commenter, ANSWERED_FROM).await?;
            if !answered {
                info!(author = ?commenter, %role, job_id, "not telling the thread that the job gave up: the author cannot triage");
                return Ok(());
            }
        }
        let body = format!(
            "⚠️ PromptOps gave up on {} after {attempts} failed attempts. What went wrong is \
             in the service's log under `job_id={job_id}`. {}",
            asked.what, asked.retry
        );
        repo.comment(asked.thread, &job_key(job_id, "gave-up"), &body)
            .await
    }
}

//! Merge-queue checks and check-run button clicks: how many groups passed or failed the
//! `promptops/plan` check, and what became of each click by button.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use promptops_commands::Button;

/// How a merge group's check concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MergeGroupVerdict {
    Success,
    Failure,
}

impl MergeGroupVerdict {
    fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
        }
    }
}

/// What became of a button click.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClickOutcome {
    /// The clicker had the permission; the command ran.
    Ran,
    /// The clicker lacked the permission; the pull request was told.
    Refused,
    /// The job failed and will be retried.
    Failed,
}

impl ClickOutcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Ran => "ran",
            Self::Refused => "refused",
            Self::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConclusionLabel {
    conclusion: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClickLabels {
    button: &'static str,
    outcome: &'static str,
}

pub struct QueueMetrics {
    merge_group_checks: Family<ConclusionLabel, Counter>,
    button_clicks: Family<ClickLabels, Counter>,
}

impl QueueMetrics {
    pub(super) fn register(registry: &mut Registry) -> Self {
        let merge_group_checks = Family::<ConclusionLabel, Counter>::default();
        registry.register(
            "merge_group_checks",
            "promptops/plan checks concluded on merge queue groups, by conclusion (success, failure)",
            merge_group_checks.clone(),
        );
        let button_clicks = Family::<ClickLabels, Counter>::default();
        registry.register(
            "check_button_clicks",
            "Clicks on the buttons of promptops/plan check runs, by button (replan, unlock) and outcome (ran, refused, failed)",
            button_clicks.clone(),
        );
        Self {
            merge_group_checks,
            button_clicks,
        }
    }

    pub fn merge_group_checked(&self, verdict: MergeGroupVerdict) {
        self.merge_group_checks
            .get_or_create(&ConclusionLabel {
                conclusion: verdict.as_str(),
            })
            .inc();
    }

    pub fn button_clicked(&self, button: Button, outcome: ClickOutcome) {
        self.button_clicks
            .get_or_create(&ClickLabels {
                button: button.identifier(),
                outcome: outcome.as_str(),
            })
            .inc();
    }
}

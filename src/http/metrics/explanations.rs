//! Plan explanations by source and outcome: the deterministic summary (always written)
//! and the model's explanation (written, or why not), so that an operator sees a model
//! that keeps failing while every plan comment still carries its summary.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

/// Who wrote an explanation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExplanationSource {
    /// The summary the service writes from the plan's facts.
    Deterministic,
    /// The configured model.
    Model,
}

impl ExplanationSource {
    fn as_str(self) -> &'static str {
        match self {
            Self::Deterministic => "deterministic",
            Self::Model => "model",
        }
    }
}

/// Every `outcome` label: `written`, or the model's failure (`ExplainFailure::label`).
const OUTCOMES: [(ExplanationSource, &str); 6] = [
    (ExplanationSource::Deterministic, "written"),
    (ExplanationSource::Model, "written"),
    (ExplanationSource::Model, "unreachable"),
    (ExplanationSource::Model, "refused"),
    (ExplanationSource::Model, "empty"),
    (ExplanationSource::Model, "too_long"),
];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ExplanationLabels {
    source: &'static str,
    outcome: &'static str,
}

pub struct ExplanationMetrics {
    explanations: Family<ExplanationLabels, Counter>,
}

impl ExplanationMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let explanations = Family::<ExplanationLabels, Counter>::default();
        registry.register(
            "plan_explanations",
            "Plan comment explanations by source (deterministic, model) and outcome (written, or why the model's is missing)",
            explanations.clone(),
        );
        // Every series exists from the first scrape, so that `rate()` sees the first one.
        for (source, outcome) in OUTCOMES {
            let _ = explanations.get_or_create(&ExplanationLabels {
                source: source.as_str(),
                outcome,
            });
        }
        Self { explanations }
    }

    /// One explanation of `source` ended with `outcome` (a fixed label).
    pub fn record(&self, source: ExplanationSource, outcome: &'static str) {
        self.explanations
            .get_or_create(&ExplanationLabels {
                source: source.as_str(),
                outcome,
            })
            .inc();
    }
}

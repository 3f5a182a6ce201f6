//! What a Terraform run does. Stored as the run's `kind` and written into comment keys and
//! report headings, always in the spelling of [`RunKind::as_str`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunKind {
    Plan,
    Apply,
    Destroy,
    Configure,
    /// A read-only plan of an applied deployment, looking for drift.
    Drift,
}

impl RunKind {
    pub const ALL: [RunKind; 5] = [
        RunKind::Plan,
        RunKind::Apply,
        RunKind::Destroy,
        RunKind::Configure,
        RunKind::Drift,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Plan => "plan",
            RunKind::Apply => "apply",
            RunKind::Destroy => "destroy",
            RunKind::Configure => "configure",
            RunKind::Drift => "drift",
        }
    }
}

impl fmt::Display for RunKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RunKind {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, StoreError> {
        RunKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| StoreError::Corrupt {
                field: "runs.kind",
                value: s.to_owned(),
                expected: "one of plan, apply, destroy, configure, drift",
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_spelling_and_serialises_the_same() {
        for kind in RunKind::ALL {
            assert_eq!(kind.as_str().parse::<RunKind>().unwrap(), kind);
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::json!(kind.as_str())
            );
        }
        let err = "planned".parse::<RunKind>().unwrap_err().to_string();
        assert!(
            err.contains("runs.kind") && err.contains("planned"),
            "{err}"
        );
    }
}

//! What a Terraform run does. Stored as the run's `kind` and written into comment keys and
//! report headings, always in the spelling of [`RunKind::as_str`].

use std::fmt;

use promptops_store::Run;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunKind {
    Plan,
    Apply,
    Destroy,
    Configure,
    /// A read-only plan of an applied deployment, looking for drift.
    Drift,
}

impl RunKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Plan => "plan",
            RunKind::Apply => "apply",
            RunKind::Destroy => "destroy",
            RunKind::Configure => "configure",
            RunKind::Drift => "drift",
        }
    }

    /// Whether `run` is of this kind.
    pub fn is_kind_of(self, run: &Run) -> bool {
        run.kind == self.as_str()
    }
}

impl fmt::Display for RunKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

//! The pure core of PromptOps: the GPU catalog, the typed deployment request and its
//! validation against the catalog and the repository policy, the cost estimate, and the
//! `terraform.tfvars` rendering. No I/O besides reading a catalog file on request.
//! Also the small vocabulary the other crates share: the clock, backoff, and what GitHub
//! imposes.

pub mod backoff;
mod catalog;
mod catalog_check;
mod catalog_text;
pub mod clock;
mod cost;
mod draft;
mod error;
mod expiry;
pub mod github;
mod github_ids;
mod policy;
mod references;
mod request;
mod resolve;
pub mod safe_text;
mod tfvars;
mod tfvars_check;

pub use catalog::{
    Area, AttachedDefault, BootDiskLimits, Catalog, CatalogError, GpuAttachment, GpuType,
    MachineType, OtherRegion, Region, fold_accents, place_key,
};
pub use cost::{CostEstimate, HOURS_PER_MONTH, usd};
pub use draft::{DRAFT_FIELDS, DeploymentDraft, MAX_SANE_COUNT, MAX_SANE_DISK_GB};
pub use error::{ValidationError, ValidationErrors, quote_value};
pub use expiry::{
    EXPIRES_AT_FIELD, EXPIRES_IN_FIELD, ExpiryRequest, Lifetime, LifetimeError,
    MAX_SANE_LIFETIME_HOURS,
};
pub use github_ids::{
    COMMIT_SHA_CHARS, CommitSha, CommitShaError, IssueNumber, PrNumber, REPO_NAME_MAX_CHARS,
    RepoName, RepoNameError,
};
pub use policy::Policy;
pub use references::{OtherCloudInstance, ReferenceGpu};
pub use request::{DeploymentRequest, MAX_NAME_CHARS, NAME_PATTERN, NAME_RULE, is_valid_name};
pub use resolve::{MAX_ASSUMPTION_CHARS, MAX_ASSUMPTIONS, MAX_RATIONALE_CHARS, resolve};
pub use tfvars::{
    RenderContext, TFVARS_ATTRIBUTES, TfvarsError, TfvarsValues, parse_tfvars, render_tfvars,
};
pub use tfvars_check::check_tfvars;

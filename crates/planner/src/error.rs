//! The planner's errors. Their Display texts are posted on GitHub issues as they are, so each
//! one says what went wrong and what the user can do about it.

use promptops_core::ValidationErrors;

use crate::Refusal;

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The answer did not pass the catalog and policy checks (after one repair turn for the
    /// model planner). Every problem is listed.
    #[error(
        "The request could not be turned into a valid deployment. Problems:\n{}\nEdit the issue or comment `/promptops plan <more details>` to try again.",
        crate::message::issue_problems(.0)
    )]
    Rejected(ValidationErrors),

    /// The text is not a request this planner may plan: empty, no VMs or GPUs asked for, a
    /// deletion, another cloud, an attempt to change the policy. The message says what to
    /// write instead.
    #[error(
        "{}\nEdit the issue, or comment `/promptops plan <what you need>`, to try again.",
        .0.message
    )]
    NotARequest(Refusal),

    /// The request names a region, zone, GPU or machine type that the catalog does not know,
    /// or a number that cannot be read safely (negative, fractional, far too large), with
    /// every other problem of the request.
    #[error(
        "The request states something that cannot be planned as written:\n{}\nEdit the issue or comment `/promptops plan <more details>` with the parts named above changed.",
        crate::message::issue_problems(.0)
    )]
    UnknownMention(ValidationErrors),

    /// The request says two different things about the same setting (offline planner only:
    /// it cannot choose between them).
    #[error(
        "The request is ambiguous:\n{0}\nSay which one you want: edit the issue or comment `/promptops plan <what you need>`."
    )]
    AmbiguousMention(ValidationErrors),

    /// The plan contradicts a value the user wrote explicitly ("5 VMs").
    #[error(
        "The plan does not match what the request asks for explicitly, so it was not used:\n{0}"
    )]
    MismatchWithRequest(ValidationErrors),

    /// The model API could not be reached or refused the call (after bounded retries).
    #[error("The planning model could not be reached: {0}. Nothing was changed; try again later.")]
    ModelUnreachable(String),

    /// The model answered, but not with something usable (no JSON, a refusal, cut off).
    #[error("The planning model's answer could not be used: {0}")]
    ModelOutputUnusable(String),
}

//! The user-facing description of the commands: the `help` reply and the list that error
//! replies end with.

/// What starts a command line (matched case-insensitively).
pub const PREFIX: &str = "/promptops";

/// One line per command: usage and what it does, in the order users usually need them.
const COMMANDS: [(&str, &str); 8] = [
    (
        "plan [instructions]",
        "plan the deployment this issue asks for and open (or update) its pull request; \
         text after `plan`, also on the following lines, refines the request. On a pull \
         request that changes Terraform code, `plan <full commit SHA>` is the go-ahead to plan \
         that commit, when it is still the head",
    ),
    (
        "apply",
        "retry the apply of this merged pull request (the plan is tied to its merge commit)",
    ),
    (
        "configure",
        "re-run the configuration job on the deployment's VMs without changing infrastructure",
    ),
    (
        "destroy",
        "open a pull request that removes the deployment; merging it destroys the resources",
    ),
    (
        "unlock",
        "release the deployment lock held by this pull request",
    ),
    (
        "extend 3d",
        "move the deployment's expiry date later (h, d or w), within the repository's maximum",
    ),
    (
        "drift",
        "plan the applied deployment read-only now and report any drift in its drift issue",
    ),
    ("help", "show this list"),
];

/// The Markdown bullet list of commands, shared by the help reply and error replies.
pub(crate) fn command_list() -> String {
    COMMANDS
        .iter()
        .map(|(usage, what)| format!("- `{PREFIX} {usage}` — {what}\n"))
        .collect()
}

/// The reply to `/promptops help`, in Markdown.
pub fn help_text() -> String {
    format!(
        "### PromptOps commands\n\n\
         Write a command at the start of a line in an issue or pull request comment. \
         Commands inside code blocks, inline code, HTML comments or `>` quotes are ignored.\n\n\
         {}\n\
         Only people with write permission on the repository (or the level set in \
         `.github/promptops.yml`) can run commands. Pull requests from forks are never planned.\n",
        command_list()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::SUBCOMMANDS;

    #[test]
    fn every_subcommand_is_documented_in_order() {
        let documented: Vec<&str> = COMMANDS
            .iter()
            .map(|(usage, _)| usage.split(' ').next().unwrap_or_default())
            .collect();
        assert_eq!(documented, SUBCOMMANDS);
    }
}

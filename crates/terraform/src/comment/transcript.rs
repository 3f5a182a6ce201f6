//! Reading a run's transcript for a reviewer: the runner writes one stream per phase, each
//! command introduced by a `$ terraform <command> …` line. A comment shows the step a
//! reviewer needs (the plan, the apply; `init` only when it failed), lifts Terraform's
//! warnings and errors out of it so they are seen above the fold, and leaves out noise
//! about the server's own setup (the CLI-configuration warning, the command lines).

/// One `Warning:` or `Error:` diagnostic Terraform printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// e.g. `Value for undeclared variable`.
    pub title: String,
    /// The explanation, one entry per line (blank entries separate paragraphs).
    pub detail: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

/// A transcript split for a comment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transcript {
    /// The lines to show in the collapsed block, noise removed.
    pub shown: String,
    /// Warnings and errors, errors first, each once.
    pub diagnostics: Vec<Diagnostic>,
}

/// Most lines of a diagnostic's detail lifted above the fold (the block keeps all).
const MAX_DETAIL_LINES: usize = 8;

/// Reads `output`. `init_failed` keeps the `init` step (it is then what went wrong);
/// otherwise a successful init is dropped, its transcript being the same every time.
pub fn read(output: &str, init_failed: bool) -> Transcript {
    let mut shown = String::with_capacity(output.len());
    let mut diagnostics = Vec::new();
    for step in steps(output) {
        if step.command == Some(Command::Init) && !init_failed {
            continue;
        }
        let kept = without_cli_configuration_warning(step.lines);
        diagnostics.extend(diagnostics_in(&kept));
        for line in kept {
            shown.push_str(line);
            shown.push('\n');
        }
    }
    let trimmed = shown.trim_matches('\n').len();
    let start = shown.len() - shown.trim_start_matches('\n').len();
    let shown = shown[start..start + trimmed].to_owned();
    diagnostics.sort_by_key(|d| d.severity);
    diagnostics.dedup();
    Transcript { shown, diagnostics }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    Init,
    Other,
}

struct Step<'a> {
    command: Option<Command>,
    lines: Vec<&'a str>,
}

/// The output split at the runner's `$ terraform …` lines, which are dropped.
fn steps(output: &str) -> Vec<Step<'_>> {
    let mut steps = vec![Step {
        command: None,
        lines: Vec::new(),
    }];
    for line in output.lines() {
        if let Some(args) = line.strip_prefix("$ terraform ") {
            let command = match args.split_whitespace().next() {
                Some("init") => Command::Init,
                _ => Command::Other,
            };
            steps.push(Step {
                command: Some(command),
                lines: Vec::new(),
            });
        } else if let Some(step) = steps.last_mut() {
            step.lines.push(line);
        }
    }
    steps
}

/// Terraform repeats a warning about the server's CLI configuration file before every
/// command; it says nothing about the change under review.
fn without_cli_configuration_warning(lines: Vec<&str>) -> Vec<&str> {
    let mut kept = Vec::with_capacity(lines.len());
    let mut skipping = false;
    for line in lines {
        if line.starts_with("There are some problems with the CLI configuration") {
            skipping = true;
            continue;
        }
        if skipping {
            match line.trim_start().chars().next() {
                Some('╷' | '│') => continue,
                Some('╵') => {
                    // The box is over; the blank line Terraform adds after it goes too.
                    continue;
                }
                None => continue,
                _ => skipping = false,
            }
        }
        kept.push(line);
    }
    kept
}

/// Diagnostics in both of Terraform's forms: boxed (`╷ │ Warning: … ╵`) and plain
/// (`Warning: …` at column 0, as `-no-color` prints some of them).
fn diagnostics_in(lines: &[&str]) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let (boxed, text) = match lines[index].strip_prefix("│ ") {
            Some(rest) => (true, rest),
            None => (false, lines[index]),
        };
        let severity = if text.starts_with("Error: ") {
            Some(Severity::Error)
        } else if text.starts_with("Warning: ") {
            Some(Severity::Warning)
        } else {
            None
        };
        let Some(severity) = severity else {
            index += 1;
            continue;
        };
        let title = text
            .split_once(": ")
            .map_or("", |(_, t)| t)
            .trim()
            .to_owned();
        let mut detail = Vec::new();
        index += 1;
        while index < lines.len() && detail.len() < MAX_DETAIL_LINES {
            let line = lines[index];
            let body = if boxed {
                match line.strip_prefix('│') {
                    Some(rest) => rest.strip_prefix(' ').unwrap_or(rest),
                    None => break,
                }
            } else if ends_plain_diagnostic(line) {
                break;
            } else {
                line
            };
            if body.starts_with("Error: ") || body.starts_with("Warning: ") {
                break;
            }
            detail.push(body.trim_end().to_owned());
            index += 1;
        }
        while detail.first().is_some_and(String::is_empty) {
            detail.remove(0);
        }
        while detail.last().is_some_and(String::is_empty) {
            detail.pop();
        }
        found.push(Diagnostic {
            severity,
            title,
            detail,
        });
    }
    found
}

fn ends_plain_diagnostic(line: &str) -> bool {
    line.starts_with('─') || line.starts_with('╷') || line.starts_with("Saved the plan")
}

/// The `diff` sign for each line of a plan transcript: `+`, `-` or `!` only inside the
/// resource and output changes, so that lines elsewhere that merely begin with `- ` (init's
/// `- terraform.io/builtin/terraform is built in`, a list in a warning) are not coloured
/// as deletions.
pub fn change_signs(text: &str) -> Vec<char> {
    let mut inside = false;
    text.lines()
        .map(|line| {
            let resource_header = line.trim_start().starts_with("# ")
                && (line.contains(" will be ") || line.contains(" must be "));
            let starts_changes = line.starts_with("Terraform will perform the following actions")
                || line.starts_with("Changes to Outputs:")
                || resource_header;
            if starts_changes {
                inside = true;
                return ' ';
            }
            let at_column_zero = !line.is_empty() && !line.starts_with([' ', '\t']);
            let is_change_line = ["+", "-", "~", "<="]
                .iter()
                .any(|sign| line.starts_with(sign));
            if at_column_zero && !is_change_line {
                inside = false;
            }
            if inside {
                super::split::diff_line(line).chars().next().unwrap_or(' ')
            } else {
                ' '
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAN: &str = "$ terraform init -input=false -no-color\nThere are some problems with the CLI configuration:\n╷\n│ Warning: Unable to open CLI configuration file\n│\n│ The CLI configuration file at \"/x\" does not exist.\n╵\n\nInitializing provider plugins...\n- terraform.io/builtin/terraform is built in to Terraform\n$ terraform plan -out=plan.bin\n\nTerraform will perform the following actions:\n\n  # a will be created\n  + resource \"terraform_data\" \"a\" {\n      + id = (known after apply)\n    }\n\nPlan: 1 to add, 0 to change, 0 to destroy.\n\nWarning: Value for undeclared variable\n\nThe root module does not declare a variable named \"owner\".\n\n─────\n$ terraform show -json -no-color plan.bin > (file)\n";

    #[test]
    fn a_successful_init_and_the_tool_noise_are_left_out() {
        let read = read(PLAN, false);
        assert!(
            !read.shown.contains("terraform.io/builtin"),
            "{}",
            read.shown
        );
        assert!(!read.shown.contains("CLI configuration"), "{}", read.shown);
        assert!(!read.shown.contains("$ terraform"), "{}", read.shown);
        assert!(
            read.shown.starts_with("Terraform will perform"),
            "{}",
            read.shown
        );
        assert_eq!(
            read.diagnostics,
            vec![Diagnostic {
                severity: Severity::Warning,
                title: "Value for undeclared variable".into(),
                detail: vec!["The root module does not declare a variable named \"owner\".".into()],
            }]
        );
    }

    #[test]
    fn a_failed_init_is_kept() {
        let read = read(PLAN, true);
        assert!(
            read.shown.contains("terraform.io/builtin"),
            "{}",
            read.shown
        );
        assert!(!read.shown.contains("CLI configuration"), "{}", read.shown);
    }

    #[test]
    fn boxed_errors_come_first() {
        let text =
            "Warning: w\n\nlater\n╷\n│ Error: Invalid value\n│ \n│   on main.tf line 3:\n╵\n";
        let read = read(text, false);
        assert_eq!(read.diagnostics[0].severity, Severity::Error);
        assert_eq!(read.diagnostics[0].title, "Invalid value");
        assert_eq!(read.diagnostics[0].detail, vec!["  on main.tf line 3:"]);
        assert_eq!(read.diagnostics[1].title, "w");
    }

    #[test]
    fn only_changes_are_coloured() {
        let text = "- terraform.io/builtin/terraform is built in\nTerraform will perform the following actions:\n  + resource \"a\" {\n-/+ resource \"b\" {\nPlan: 1 to add\n- not a change";
        assert_eq!(change_signs(text), vec![' ', ' ', '+', '!', ' ', ' ']);
    }
}

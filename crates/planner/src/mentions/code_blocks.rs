//! Fenced code blocks in a request: a pasted log or stack trace ("CUDA error: out of memory
//! on 4 GPUs") states nothing about the deployment, but its numbers and names were read as
//! if it did (that log planned 4 GPUs). A block is read only when it holds configuration:
//! its language is one (```hcl, ```yaml, ```json, …), or, untagged, every line is a key and
//! a value (`vm_count = 2`, `gpu: t4`) and none says what logs say ("error", "failed", …).
//! Other blocks are left out, and the plan says so.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Captures, Regex};

static FENCED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?ms)^[ \t]*```[ \t]*(?P<info>[^\n`]*)\n(?P<body>.*?)^[ \t]*```[ \t]*$")
        .expect("fenced block pattern")
});

// A key and its value ("vm_count = 2", "gpu: t4", "\"region\": \"us-west1\","), a list
// item, or a bracket alone.
static CONFIG_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s*(?:[-*]\s*)?(?:"?[A-Za-z_][\w .-]*"?\s*[:=]|[-*]\s+\S|[{}\[\],]+\s*$)"#)
        .expect("configuration line pattern")
});

// What a log says and configuration does not ("RuntimeError: CUDA error: …" is a key and a
// value in form).
static LOG_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)error|exception|traceback|warning|failed|fatal|panic|killed")
        .expect("log words pattern")
});

/// Languages whose blocks hold configuration.
fn is_configuration(info: &str) -> bool {
    let language = info.split_whitespace().next().unwrap_or("");
    matches!(
        language.to_ascii_lowercase().as_str(),
        "hcl" | "terraform" | "tf" | "tfvars" | "yaml" | "yml" | "json" | "toml" | "ini" | "env"
    )
}

fn holds_configuration(info: &str, body: &str) -> bool {
    if info.trim().is_empty() {
        let mut lines = body
            .lines()
            .filter(|line| !line.trim().is_empty())
            .peekable();
        return lines.peek().is_some()
            && lines.all(|line| CONFIG_LINE.is_match(line) && !LOG_WORDS.is_match(line));
    }
    is_configuration(info)
}

/// The text without the code blocks that hold no configuration, and how many were left out.
pub(crate) fn without_unread(text: &str) -> (Cow<'_, str>, usize) {
    let mut dropped = 0;
    let kept = FENCED.replace_all(text, |caps: &Captures| {
        if holds_configuration(&caps["info"], &caps["body"]) {
            caps[0].to_owned()
        } else {
            dropped += 1;
            " ".to_owned()
        }
    });
    (kept, dropped)
}

/// The plan's note for `dropped` blocks left out.
pub(crate) fn note(dropped: usize) -> Option<String> {
    let what = match dropped {
        0 => return None,
        1 => "a code block (``` … ```) was not read".to_owned(),
        n => format!("{n} code blocks (``` … ```) were not read"),
    };
    Some(format!(
        "{what}: logs and code say nothing about the deployment; write what you need outside it, or configuration in a block marked hcl, yaml or json"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_are_left_out_and_configuration_is_kept() {
        let log = "Need a T4 VM:\n```\nRuntimeError: CUDA error: out of memory on 4 GPUs\n```\n";
        let (kept, dropped) = without_unread(log);
        assert_eq!(dropped, 1);
        assert!(!kept.contains("4 GPUs"), "{kept}");
        for config in [
            "```hcl\nvm_count = 2\n```\n",
            "```\nvm_count = 3\ngpu_type = \"nvidia-l4\"\n```\n",
            "```\n{\n  \"vm_count\": 2,\n  \"gpu_type\": \"nvidia-l4\"\n}\n```\n",
        ] {
            assert_eq!(without_unread(config), (Cow::Borrowed(config), 0));
        }
        // A traceback tagged as its language.
        let python = "```python\nmodel.to('cuda:0')  # 8 GPUs\n```\n";
        assert_eq!(without_unread(python).1, 1);
    }
}

//! A deployment name asked for in the text ("name it llm-finetune", "deployment named
//! vision-lab", "name: demo"). A valid name is honoured; an invalid one is refused with the
//! rule, never rewritten. The name is blanked out of the text afterwards, so that a name like
//! "gpu-4" is not read as a count.

use std::sync::LazyLock;

use promptops_core::{NAME_RULE, ValidationError, is_valid_name};
use regex::Regex;

use super::Mentioned;

static NAME_ASKED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?ix)
        (?: \b(?:name|call)\s+(?:it|them|these|those|the\s+(?:vms?|machines|instances|nodes|servers|deployment))\b
          | [,;(]\s*(?P<dashed>named|called)\s+
          | \brename\s+(?:it\s+|the\s+deployment\s+)?to
          | \bname\s+(?:the\s+|this\s+)?(?:deployment|cluster|setup|environment|project)
          | \b(?:deployment|cluster|setup|environment|project)\s+(?:named|called|name\b\s*(?:is\b|[:=])?)
          | \b(?:vms?|machines|instances|nodes|servers|it)\s+(?:should\s+be\s+)?(?:named|called)\b
          | (?:(?m:^)|[,;({])\s*["']?name["']?\s*[:=]
          | \b(?P<bare>name)\s+
        )
        \s*[:=]?\s*(?P<quote>["'`])?
        (?P<name>[A-Za-z0-9_][A-Za-z0-9_.-]*)"#,
    )
    .expect("name pattern")
});

/// The names asked for, the errors for names that break the rule, and the text with the
/// names blanked.
pub(super) fn find(text: &str) -> (Vec<Mentioned<String>>, Vec<ValidationError>, String) {
    let mut names: Vec<Mentioned<String>> = Vec::new();
    let mut errors = Vec::new();
    let mut blanked = text.to_owned();
    for caps in NAME_ASKED.captures_iter(text) {
        let (Some(whole), Some(value)) = (caps.get(0), caps.name("name")) else {
            continue;
        };
        let name = value.as_str().trim_end_matches(['.', '-', '_']);
        // "name t4-west" without a colon: only a word shaped like a name is one ("name the
        // deployment" is handled above; "name the GPU you need" is no name).
        if caps.name("bare").is_some()
            && !(name.contains('-') && starts_clause(&text[..whole.start()]))
        {
            continue;
        }
        // "…, named demo-env": after a comma only a name shaped like one ("a model, called
        // Llama" names no deployment).
        if caps.name("dashed").is_some() && !name.contains('-') {
            continue;
        }
        let written = whole.as_str().trim_end_matches(['.', '-', '_']).to_owned();
        if is_valid_name(name) {
            if !names.iter().any(|n| n.value == name) {
                names.push(Mentioned::new(name.to_owned(), written));
            }
        } else {
            // "called ML Demo": the name as written, spaces and all.
            let quote = caps.name("quote").and_then(|q| q.as_str().chars().next());
            let name = with_spaces(name, &text[value.end()..], quote);
            let name = name.as_str();
            // The nearest name that follows the rule, when lower case and dashes make one.
            let nearest = name.to_lowercase().replace(['_', '.', ' '], "-");
            let suggestion = if is_valid_name(&nearest) {
                format!(" (\"{nearest}\" would)")
            } else {
                String::new()
            };
            errors.push(ValidationError::new(
                "name",
                name,
                format!(
                    "the deployment name \"{name}\" cannot be used: a name {NAME_RULE}{suggestion}"
                ),
            ));
        }
        blanked.replace_range(value.range(), &" ".repeat(value.len()));
    }
    (names, errors, blanked)
}

/// A name that breaks the rule, with the words written after it that belong to it: up to
/// the closing quote when it was quoted (`named "ML Demo"`), otherwise the capitalised
/// words that follow it on its line ("called ML Demo", "named Llama Playground").
fn with_spaces(name: &str, after: &str, quote: Option<char>) -> String {
    let line = after.split('\n').next().unwrap_or_default();
    let words = match quote {
        Some(quote) => line
            .split_once(quote)
            .map(|(inside, _)| inside.split_whitespace().collect())
            .unwrap_or_default(),
        None if line.starts_with(char::is_whitespace) => capitalised_words(line),
        None => Vec::new(),
    };
    let fits = words.iter().all(|word| {
        word.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    });
    if words.is_empty() || !fits {
        return name.to_owned();
    }
    format!("{name} {}", words.join(" "))
}

/// The capitalised words at the start of `text`, up to the end of its sentence or clause.
fn capitalised_words(text: &str) -> Vec<&str> {
    let mut words = Vec::new();
    for word in text.split_whitespace() {
        if !word.starts_with(|c: char| c.is_ascii_uppercase()) {
            break;
        }
        let bare = word.trim_end_matches(['.', ',', ';', ':', '!', '?', ')']);
        words.push(bare);
        if bare.len() < word.len() {
            break;
        }
    }
    words
}

/// Whether what comes before a word ends a clause: the text's or a line's start, or ",",
/// ";" or "(".
fn starts_clause(before: &str) -> bool {
    before
        .trim_end_matches([' ', '\t'])
        .chars()
        .next_back()
        .is_none_or(|c| matches!(c, '\n' | ',' | ';' | '('))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_asked_for() {
        let (names, errors, rest) = find("4 x A100, name it llm-finetune, 2 GPUs per VM");
        assert_eq!(names[0].value, "llm-finetune");
        assert!(errors.is_empty());
        assert!(!rest.contains("llm-finetune"));
        let (names, errors, _) = find("a deployment named LLM_Tune with 2 T4");
        assert!(names.is_empty());
        assert!(errors[0].message.contains("LLM_Tune"), "{errors:?}");
        assert!(
            errors[0].message.contains("(\"llm-tune\" would)"),
            "{errors:?}"
        );
        let (names, _, _) = find("name: demo-1\nVMs: 2");
        assert_eq!(names[0].value, "demo-1");
        let (names, errors, _) = find("fine-tune a model named Mistral on 2 T4");
        assert!(names.is_empty() && errors.is_empty());
        // After a comma, in JSON, and bare when the word is shaped like a name.
        for text in [
            "Need 2 T4 VMs, name: ml-demo",
            r#"{"name": "ml-demo", "vm_count": 2}"#,
            "2 T4 VMs in us-west1, name ml-demo",
            "rename it to ml-demo",
            "6 VMs each with a single T4; name them ml-demo",
            "3 T4 VMs in us-west1, 128 GB disks, named ml-demo, for 1 week",
        ] {
            let (names, errors, _) = find(text);
            assert_eq!(
                names.first().map(|n| n.value.as_str()),
                Some("ml-demo"),
                "{text}"
            );
            assert!(errors.is_empty(), "{text}: {errors:?}");
        }
        // A name written with spaces is refused with the dashed form.
        for (text, written, nearest) in [
            (
                "2 T4 VMs called ML Demo. We need them soon",
                "ML Demo",
                "ml-demo",
            ),
            (
                r#"a T4 VM named "Llama Playground" please"#,
                "Llama Playground",
                "llama-playground",
            ),
            (
                "a deployment named LLM_Tune in us-west1",
                "LLM_Tune",
                "llm-tune",
            ),
        ] {
            let (names, errors, _) = find(text);
            assert!(names.is_empty(), "{text}");
            let message = &errors[0].message;
            assert!(
                message.contains(&format!("name \"{written}\" cannot")),
                "{text}: {message}"
            );
            assert!(
                message.contains(&format!("(\"{nearest}\" would)")),
                "{text}: {message}"
            );
        }
        let (names, errors, _) = find("fine-tune our model, called Mistral, on 2 T4");
        assert!(names.is_empty() && errors.is_empty());
        let (names, errors, _) = find("2 T4 VMs, name whatever you like");
        assert!(names.is_empty() && errors.is_empty());
    }
}

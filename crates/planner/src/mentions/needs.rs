//! Needs described instead of values: a model size to fit ("a 70B model", "llama 13b in
//! 4-bit") becomes the GPU memory one VM must hold, and "the biggest single node" asks for
//! the catalog machine with the most GPU memory. The planner states how it read them.

use std::sync::LazyLock;

use regex::Regex;

use super::Mentioned;

/// The GPU memory a model needs per VM, and how it was worked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelMemory {
    pub gb_per_vm: u32,
    pub explanation: String,
}

static MODEL_SIZE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)
        # A mixture of experts (Mixtral 8x7B): at most the experts times their size.
        (?: \b (?P<experts>\d{1,2}) x | \b )
        (?P<size>\d{1,4}(?:\.\d)?)\s?b(?:illion)?\b
        (?P<after>(?:[\s-]+(?:param(?:eter)?s?|model|llm|weights|instruct|chat))?)",
    )
    .expect("model size pattern")
});
// A family's name, then perhaps its version written apart ("Llama 3.1 8B", "Qwen 2.5 7B").
static MODEL_FAMILY_BEFORE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:llama|mistral|mixtral|qwen|falcon|gemma|deepseek|phi|gpt|model|bloom|opt)[\w.-]*(?:[\s-]+v?\d{1,2}(?:\.\d{1,2})?)?[\s-]*$")
        .expect("model family pattern")
});
static BIGGEST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:the\s+)?(?:biggest|largest|most\s+powerful|beefiest|strongest)\s+(?:single\s+|1\s+|possible\s+|available\s+|gpu\s+)*(?:node|vm|machine|instance|server|box|gpu\s+machine|gpu\s+vm|one)\b",
    )
    .expect("superlative pattern")
});

/// "as few VMs as possible", "the fewest nodes": GPUs in total packed into as few VMs as
/// the GPU allows (they were split one per VM, the opposite).
static FEWEST_VMS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:(?:on\s+)?as\s+few\s+(?:vms|nodes|machines|instances|servers|hosts|boxes)\s+as\s+possible|(?:the\s+)?fewest\s+(?:possible\s+)?(?:vms|nodes|machines|instances|servers|hosts|boxes)|(?:the\s+)?(?:minimum|smallest)\s+number\s+of\s+(?:vms|nodes|machines|instances|servers|hosts)|as\s+many\s+gpus\s+per\s+(?:vm|node|machine|instance)\s+as\s+possible)\b",
    )
    .expect("fewest VMs pattern")
});

/// Bytes per parameter: 16-bit weights unless the text says 8- or 4-bit.
fn bytes_per_parameter(text: &str) -> (f64, &'static str) {
    let lower = text.to_lowercase();
    if ["4-bit", "4 bit", "int4", "q4", "awq", "gptq"]
        .iter()
        .any(|w| lower.contains(w))
    {
        (0.5, "4-bit")
    } else if ["8-bit", "8 bit", "int8", "fp8", "q8"]
        .iter()
        .any(|w| lower.contains(w))
    {
        (1.0, "8-bit")
    } else {
        (2.0, "16-bit")
    }
}

/// The model size named in `text`, as GPU memory per VM (weights plus 20 % for the cache
/// and activations).
pub(super) fn model_memory(text: &str) -> Option<Mentioned<ModelMemory>> {
    for caps in MODEL_SIZE.captures_iter(text) {
        let (Some(whole), Some(size)) = (caps.get(0), caps.name("size")) else {
            continue;
        };
        let named_as_model = caps.name("after").is_some_and(|m| !m.as_str().is_empty())
            || MODEL_FAMILY_BEFORE.is_match(&text[..whole.start()]);
        let Ok(each) = size.as_str().parse::<f64>() else {
            continue;
        };
        let experts = caps
            .name("experts")
            .and_then(|m| m.as_str().parse::<u32>().ok());
        let billions = each * f64::from(experts.unwrap_or(1));
        if !named_as_model || billions <= 0.0 {
            continue;
        }
        let (bytes, precision) = bytes_per_parameter(text);
        let gb = (billions * bytes * 1.2).ceil();
        if !gb.is_finite() || gb > f64::from(u32::MAX) {
            continue;
        }
        // Bounded above: the value fits a u32.
        let gb_per_vm = gb as u32;
        let written = whole.as_str().trim().to_owned();
        let parameters = match experts {
            // Experts share some layers, so the whole is a little less; never more.
            Some(n) => format!(
                "a mixture of {n} experts of {each} billion parameters, at most {billions} billion in all"
            ),
            None => format!("a model of {billions} billion parameters"),
        };
        let explanation = format!(
            "\"{written}\" read as {parameters}: about {gb_per_vm} GB of GPU memory per VM ({precision} weights plus 20% for cache and activations; fine-tuning needs more, so name the GPUs if it is for training)"
        );
        return Some(Mentioned::new(
            ModelMemory {
                gb_per_vm,
                explanation,
            },
            written,
        ));
    }
    None
}

/// "as few VMs as possible", "fewest nodes": the words, when the request asks for GPUs
/// packed into as few VMs as possible.
pub(super) fn fewest_vms(text: &str) -> Option<String> {
    FEWEST_VMS.find(text).map(|m| m.as_str().trim().to_owned())
}

/// "the biggest single node", "the most powerful machine".
pub(super) fn biggest(text: &str) -> Option<String> {
    BIGGEST.find(text).map(|m| m.as_str().trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_sizes() {
        let need = model_memory("enough GPUs for a 70B model").map(|m| m.value.gb_per_vm);
        assert_eq!(need, Some(168));
        let need = model_memory("serve llama-3 8b in 4-bit").map(|m| m.value.gb_per_vm);
        assert_eq!(need, Some(5));
        assert!(model_memory("a 500b disk").is_none());
        // The version written apart from the family's name.
        for text in [
            "2 T4 VMs for Llama 3.1 8B",
            "Qwen 2.5 7B chat",
            "llama v3 8b",
        ] {
            let need = model_memory(text).map(|m| m.value.gb_per_vm);
            assert!(
                need.is_some_and(|gb| (17..=20).contains(&gb)),
                "{text}: {need:?}"
            );
        }
        assert!(model_memory("team 3 8b budget").is_none());
        // "8x7B" was no size at all: the request was found to ask for nothing.
        let need = model_memory("enough GPUs to serve Mixtral 8x7B").map(|m| m.value);
        assert_eq!(need.as_ref().map(|n| n.gb_per_vm), Some(135));
        assert!(need.is_some_and(|n| n.explanation.contains(
            "a mixture of 8 experts of 7 billion parameters, at most 56 billion in all"
        )),);
        assert!(biggest("give me the biggest single node you have").is_some());
    }
}

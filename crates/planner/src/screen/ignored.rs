//! What a request asks for that a plan cannot hold: each part found is named with the words
//! the user wrote and why it is not in the plan, so that nothing is dropped silently.

use std::sync::LazyLock;

use regex::Regex;

/// One kind of unsupported ask: its pattern and the sentence saying what the plan does instead.
struct Unsupported {
    pattern: &'static str,
    why: &'static str,
}

const UNSUPPORTED: &[Unsupported] = &[
    Unsupported {
        pattern: r"\b(?:spot|preemptible|pre-emptible)(?:\s+(?:vms?|instances?|pricing|nodes?|capacity))?\b",
        why: "spot/preemptible VMs are not supported; the plan is for on-demand VMs",
    },
    Unsupported {
        pattern: r"\b(?:ubuntu|debian|centos|rocky(?:\s+linux)?|rhel|red\s+hat|windows(?:\s+server)?|fedora|suse|amazon\s+linux|container-optimized\s+os|cos)(?:[\s-]*\d+(?:\.\d+)*(?:\s+lts)?)?\b",
        why: "the operating system is not a setting; the VMs use the deployment module's image",
    },
    Unsupported {
        pattern: r"\b(?:(?:custom|deep\s+learning|dl|pytorch|tensorflow|cuda|nvidia)\s+(?:vm\s+)?images?|image\s*[:=]\s*\S+|cuda\s*\d+(?:\.\d+)*|driver\s+version\s+\S+)",
        why: "images, CUDA and driver versions are not settings; the VMs use the deployment module's image",
    },
    Unsupported {
        // vCPUs and RAM size the machine (`mentions::machine_size`); threads are the work's.
        pattern: r"\b\d+\s*threads\b",
        why: "threads are not read as vCPUs; to size the machine write vCPUs (e.g. \"12 vCPUs\")",
    },
    Unsupported {
        pattern: r"\b(?:local\s+ssds?|nvme|pd-ssd|pd-balanced|pd-extreme|hyperdisk|ssd\s+persistent\s+disk|extra\s+disks?|data\s+disks?|attached\s+disks?)\b",
        why: "disk types and extra disks are not settings; each VM gets one boot disk of the stated size",
    },
    Unsupported {
        // Any duration in months or years after "for" ("for six months", "for the next
        // 2 months", "for 6mo"): the lifetime reader leaves exactly these to this note.
        pattern: r"\b(?:for\s+(?:[^\s,;.!?]+\s+){0,5}?\d*\s*(?:months?|mos?|years?|yrs?)\b|24/7|nightly|every\s+(?:night|day|weekend)|on\s+weekdays|auto[\s-]?(?:shutdown|stop|scal\w+)|schedule\w*)\b",
        why: "months, schedules and autoscaling are not supported; VMs run until the deployment expires (a lifetime in hours, days or weeks, e.g. \"for 3 days\" or \"until Friday\") or is destroyed (`/promptops destroy`)",
    },
    Unsupported {
        // A deletion denied or left for later ("don't delete them automatically", "will
        // delete them myself when done", "tear down after"), which schedules nothing.
        pattern: r"\b(?:(?:don'?t|do\s+not|never|won'?t)\s+(?:auto[\s-]?)?(?:delete|destroy|remove|tear\s+down)(?:\s+(?:it|them|everything|the\s+vms))?(?:\s+automatically)?|(?:delete|destroy|remove|tear\s+down|shut\s+down|clean\s+up|(?:tear|shut|clean)\s+(?:it|them|everything)\s+(?:down|up))\s+(?:(?:it|them|everything|the\s+vms)\s+)?(?:myself|ourselves|manually|by\s+hand|later|when\s+(?:(?:we|i)(?:'re|'m|\s+are|\s+am)\s+)?done|once\s+(?:(?:we|i)(?:'re|'m|\s+are|\s+am)\s+)?done|after(?:wards?)?\s*(?:[.,;!?]|$)))",
        why: "no deletion is scheduled from these words: the deployment runs until it expires (a lifetime, e.g. \"for 3 days\" or \"until Friday\") or is destroyed (`/promptops destroy`)",
    },
    Unsupported {
        // "2 T4 VMs + 1 spare": the spare was dropped without a word.
        pattern: r"(?:\+|\bplus|\band|\bwith)\s+(?:a|one|two|\d+)\s+(?:extra\s+)?spares?\b(?:\s+(?:vms?|nodes?|machines?|instances?|gpus?))?",
        why: "spares are not planned apart; the count stated is planned: write the total to include them (e.g. \"3 VMs\")",
    },
    Unsupported {
        // "overnight", "over the weekend": how long these last is the requester's to say
        // (until when in the morning?); passed over before.
        pattern: r"\b(?:overnight|over\s+the\s+weekend)\b",
        why: "no lifetime is read from these words; to have the VMs destroyed, write a lifetime or an end (e.g. \"for 16 hours\", \"until Monday\")",
    },
    Unsupported {
        pattern: r"\b(?:gke|kubernetes|k8s|slurm|autopilot)(?:\s+cluster)?\b",
        why: "clusters are not created; the plan is plain Compute Engine VMs",
    },
    Unsupported {
        pattern: r"\b(?:static|public|external|reserved)\s+ips?\b|\bload\s+balancer\b|\bopen\s+ports?\s+\d+|\bport\s+\d{2,5}\b",
        why: "network settings are not part of the request; the deployment module sets the firewall (port 8501 for the demo app)",
    },
    Unsupported {
        pattern: r"\b(?:committed\s+use|reservations?|reserved\s+capacity|sole[\s-]tenant)\b",
        why: "commitments and reservations are not supported; the plan uses on-demand capacity",
    },
    Unsupported {
        pattern: r"\b(?:multi[\s-]?(?:region|zone)|(?:several|two|multiple|different)\s+(?:regions|zones)|(?:spread\s+)?across\s+(?:regions|zones))\b",
        why: "a deployment lives in one zone; open one request per region or zone",
    },
    Unsupported {
        // The planner knows no other deployment's place ("the same zone as our existing
        // deployment"); a deployment being changed keeps its own.
        pattern: r"\bsame\s+(?:zone|region|location|place|datacenter)\s+as\b[^.,;:!?\n]*",
        why: "a place named by reference to something else is not read; name the region or zone (e.g. \"in us-west1\")",
    },
    Unsupported {
        // "2 VMs (or 3 if budget allows)": the count stated first is planned.
        pattern: r"\bor\s+(?:\d+|two|three|four|five|six|eight)\s+(?:more\s+)?(?:if|when|should|in\s+case)\b[^).;\n]*",
        why: "another count offered as an alternative is not planned; the count stated first is",
    },
    Unsupported {
        pattern: r"\b(?:\d+|two|three|four|five|six|eight)\s+more\s+(?:\w+\s+)?(?:next\s+(?:week|month|sprint|quarter)|later|tomorrow|in\s+\d+\s+(?:days?|weeks?))\b",
        why: "VMs wanted later are not planned now; ask for them then, with the new total, in a `/promptops plan` comment on the deployment's issue",
    },
    Unsupported {
        pattern: r"\b(?:install|preinstall\w*|pre-install\w*|with)\s+(?:jupyter\w*|docker|conda|vllm|triton|pytorch|tensorflow|ollama)\b",
        why: "software other than the demo app is not installed by the plan",
    },
];

static PATTERNS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    UNSUPPORTED
        .iter()
        .map(|u| {
            let regex = Regex::new(&format!("(?i){}", u.pattern)).expect("unsupported pattern");
            (regex, u.why)
        })
        .collect()
});

/// One line per unsupported part of `text`: `"spot": spot/preemptible VMs are not supported…`.
pub fn ignored_parts(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut seen_why: Vec<&str> = Vec::new();
    for (regex, why) in PATTERNS.iter() {
        let written: Vec<String> = regex
            .find_iter(text)
            .map(|m| format!("\"{}\"", m.as_str().trim()))
            .collect();
        if written.is_empty() || seen_why.contains(why) {
            continue;
        }
        seen_why.push(why);
        let mut unique = written;
        unique.dedup();
        out.push(format!("Not used: {}: {why}.", unique.join(", ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_words_are_named() {
        let parts =
            ignored_parts("4 x A100 40GB, us-east1, 2 GPUs per VM, ubuntu 22.04, 500GB disk, spot");
        assert_eq!(parts.len(), 2, "{parts:?}");
        assert!(parts[0].contains("\"spot\""));
        assert!(parts[1].contains("\"ubuntu 22.04\""));
        assert!(ignored_parts("2 T4 VMs in us-west1 with a 200GB disk").is_empty());
        for text in [
            "for six months",
            "for the next 2 months",
            "for 6mo",
            "for a year",
        ] {
            assert_eq!(ignored_parts(text).len(), 1, "{text:?}");
        }
    }

    #[test]
    fn counts_offered_as_alternatives_or_for_later_and_zones_are_named() {
        // Each was passed over without a word.
        for (text, written) in [
            (
                "Need 2 T4 VMs (or 3 if budget allows)",
                "\"or 3 if budget allows\"",
            ),
            (
                "Need 2 T4 VMs now and 2 more next week",
                "\"2 more next week\"",
            ),
            (
                "2 VMs with 1 T4 each, spread across zones",
                "\"spread across zones\"",
            ),
            (
                "2 T4 VMs in the same zone as our existing deployment",
                "\"same zone as our existing deployment\"",
            ),
        ] {
            let parts = ignored_parts(text);
            assert_eq!(parts.len(), 1, "{text:?}: {parts:?}");
            assert!(parts[0].contains(written), "{text:?}: {parts:?}");
        }
        assert!(ignored_parts("2 T4 VMs, or 3 L4 VMs").is_empty());
    }
}

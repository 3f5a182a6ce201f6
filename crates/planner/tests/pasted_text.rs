//! What a request pastes beside what it asks for: a code block holding a log or a command
//! is not read (its numbers planned GPUs), and the plan says so; one holding configuration
//! is. Also: a form's end date after a colon, a model's size against GPUs named with their
//! count, and a named GPU the named place does not offer beside a model's size.

mod support;

use promptops_core::ExpiryRequest;
use support::{A100, L4, T4, assert_plans, assert_refused_saying, planned, said};

#[test]
fn a_code_block_holding_a_log_or_a_command_is_not_read() {
    assert_plans(&[
        // Planned 4 GPUs on one VM, from the log.
        (
            "Need a T4 VM, here is the error:\n```\nRuntimeError: CUDA error: out of memory on 4 GPUs\n```",
            1,
            1,
            T4,
        ),
        // Refused as two VM counts, one from the command.
        (
            "We run this:\n\n```\npython train.py --gpus 8 --nodes 2\n```\n\nCan we get 2 VMs with 4 L4 each?",
            2,
            4,
            L4,
        ),
        // Refused as a count of 0 ("GPU 0").
        (
            "```\nError: CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 15.75 GiB total capacity)\n```\nNeed 1 T4 VM, us-west1",
            1,
            1,
            T4,
        ),
    ]);
    // A command in a block is not asked for: each was refused as a deletion or as another
    // cloud.
    assert_plans(&[
        (
            "Need 2 T4 VMs. Last time I ran:\n```\nterraform destroy -auto-approve\n```",
            2,
            1,
            T4,
        ),
        (
            "Need 2 T4 VMs; our old setup:\n```\naws ec2 run-instances --instance-type p3.2xlarge\n```",
            2,
            1,
            T4,
        ),
    ]);
    let outcome = planned("Need a T4 VM:\n```python\nmodel.to('cuda')  # needs 8 GPUs\n```\n");
    assert!(
        said(
            &outcome,
            "a code block (``` … ```) was not read: logs and code say nothing about the deployment"
        ),
        "{:?}",
        outcome.request.assumptions
    );
}

#[test]
fn a_code_block_holding_configuration_is_read() {
    assert_plans(&[
        ("```\nvm_count = 3\ngpu_type = \"nvidia-l4\"\n```", 3, 1, L4),
        (
            "```yaml\nvms: 2\ngpu: a100\nregion: us-central1\n```",
            2,
            1,
            A100,
        ),
        (
            "```hcl\nvm_count = 2\ngpu_type = \"nvidia-tesla-t4\"\n```",
            2,
            1,
            T4,
        ),
    ]);
}

#[test]
fn an_end_date_after_a_forms_colon_is_read() {
    // Planned with no end, without a word.
    let outcome = planned("Need 1 T4 VM\nNeeded until: 2026-12-20");
    assert_eq!(outcome.expiry, ExpiryRequest::parse_end("2026-12-20"));
}

#[test]
fn a_models_size_is_held_against_gpus_named_with_their_count() {
    // Nothing was said: the model was passed over once the GPUs and their count were named.
    let short = planned("Need 2 T4 GPUs per VM for a 70B model");
    assert_eq!((short.request.vm_count, short.request.gpu_count), (1, 2));
    assert!(
        said(
            &short,
            "the 2 x nvidia-tesla-t4 per VM asked for hold 32 GB: planned as asked; if the model does not fit, quantise it"
        ),
        "{:?}",
        short.request.assumptions
    );
    let held = planned("Need 8 A100 80GB per VM for Llama 70B");
    assert!(
        said(
            &held,
            "the 8 x nvidia-a100-80gb per VM asked for hold 640 GB"
        ),
        "{:?}",
        held.request.assumptions
    );
    // The place that does not offer the GPU is named, not the model's size (the refusal
    // said no VM has that much GPU memory).
    assert_refused_saying(
        "I'd like 1 A100 80GB VM for fine-tuning Llama 3 8B, Oregon",
        "nvidia-a100-80gb is not offered in any zone of us-west1",
    );
}

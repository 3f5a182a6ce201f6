//! Comment rendering on synthetic reports: limits, balance, markers, what is kept.

use promptops_terraform::capture::RunOutput;
use promptops_terraform::comment::markdown::check_balance;
use promptops_terraform::comment::transcript::change_signs;
use promptops_terraform::comment::{
    CommentOptions, GITHUB_COMMENT_LIMIT, KIND_PLAN, marker, render_plan_comments,
};
use promptops_terraform::{
    ActionInvocation, ChangeAction, ChangeCounts, PlanOutcome, PlanReport, ResourceChange,
    TerraformVersion,
};
use proptest::prelude::*;

fn report(output: &str, changes: Vec<ResourceChange>) -> PlanReport {
    PlanReport {
        deployment: "gpu-box".into(),
        commit: Some("abcdef1234567890".into()),
        terraform_version: TerraformVersion::new(1, 14, 1),
        destroy: false,
        outcome: PlanOutcome::Changes,
        summary: "Plan: 1 to add, 0 to change, 0 to destroy.".into(),
        counts: ChangeCounts::from_changes(&changes),
        changes,
        actions: vec![ActionInvocation {
            address: "action.aap_job_launch.configure_vm".into(),
            triggered_by: Some("terraform_data.aap_trigger".into()),
            event: Some("after_create".into()),
        }],
        failure: None,
        findings: Default::default(),
        output: RunOutput {
            log_path: "/tmp/x.log".into(),
            head: output.to_owned(),
            tail: String::new(),
            total_bytes: output.len() as u64,
            omitted_bytes: 0,
        },
    }
}

/// What a comment's hidden marker says.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Marker {
    kind: String,
    deployment: String,
    part: usize,
    total: usize,
}

/// Reads the hidden marker that `marker` writes at the top of a comment part.
fn parse_marker(body: &str) -> Option<Marker> {
    let pattern = regex::Regex::new(
        r"<!-- promptops:([a-z-]+) deployment=([a-z][a-z0-9-]*) part=(\d+)/(\d+) -->",
    )
    .expect("static regex");
    let caps = pattern.captures(body)?;
    Some(Marker {
        kind: caps[1].to_owned(),
        deployment: caps[2].to_owned(),
        part: caps[3].parse().ok()?,
        total: caps[4].parse().ok()?,
    })
}

#[test]
fn marker_round_trips() {
    let text = format!("{}\nbody", marker(KIND_PLAN, "gpu-box", 2, 3));
    assert_eq!(
        parse_marker(&text),
        Some(Marker {
            kind: "plan".into(),
            deployment: "gpu-box".into(),
            part: 2,
            total: 3
        })
    );
    assert_eq!(parse_marker("no marker"), None);
}

fn assert_well_formed(comments: &[String], opts: &CommentOptions) {
    assert!(!comments.is_empty());
    assert!(
        comments.len() <= opts.max_comments,
        "{} comments",
        comments.len()
    );
    for (i, comment) in comments.iter().enumerate() {
        assert!(
            comment.len() <= opts.max_chars,
            "comment {i}: {} bytes > {}",
            comment.len(),
            opts.max_chars
        );
        assert!(comment.chars().count() < GITHUB_COMMENT_LIMIT);
        if let Err(problems) = check_balance(comment) {
            panic!("comment {i} unbalanced: {problems:?}\n{comment}");
        }
        let marker = parse_marker(comment).expect("marker");
        assert_eq!((marker.part, marker.total), (i + 1, comments.len()));
        assert_eq!(marker.deployment, "gpu-box");
        assert_eq!(marker.kind, "plan");
    }
}

#[test]
fn small_plan_is_one_comment_with_table_actions_and_next_steps() {
    let output = "  # terraform_data.vm[0] will be created\n  + resource \"terraform_data\" \"vm\" {\n    }\n\nPlan: 1 to add, 0 to change, 0 to destroy.\nActions: 1 to invoke.\n";
    let changes = vec![
        ResourceChange {
            address: "terraform_data.vm[0]".into(),
            action: ChangeAction::Create,
        },
        ResourceChange {
            address: "terraform_data.old[\"a|b`c\"]".into(),
            action: ChangeAction::Delete,
        },
    ];
    let opts = CommentOptions::default();
    let comments = render_plan_comments(&report(output, changes), &opts);
    assert_eq!(comments.len(), 1);
    let body = &comments[0];
    assert_well_formed(&comments, &opts);
    // One headline with the counts, and no second summary.
    assert!(body.contains(
        "\n### 📝 Terraform plan for `gpu-box`: 1 to add, 0 to change, 1 to destroy, 1 action to invoke\n"
    ));
    assert!(!body.contains("**Plan:"), "{body}");
    // Deletions are listed first; `|` and backticks cannot break the table.
    let delete = body
        .find("| 🗑️ delete | `terraform_data.old[\"a\\|b'c\"]` |")
        .expect("escaped delete row");
    let create = body.find("| ➕ create | `terraform_data.vm[0]` |").unwrap();
    assert!(delete < create);
    assert!(body.contains("**Actions to invoke** (1):\n- `action.aap_job_launch.configure_vm` (after_create of `terraform_data.aap_trigger`)"));
    assert!(body.contains("**Next steps**"));
    assert!(body.contains("<details><summary>Terraform plan output</summary>\n\n```diff\n"));
    assert!(body.contains("\n+   + resource \"terraform_data\" \"vm\" {\n"));
}

#[test]
fn output_with_fences_and_html_cannot_break_out_of_the_code_block() {
    let output = "```\n</details>\n<details>\n`````` x\nPlan: 1 to add";
    let opts = CommentOptions::default();
    let comments = render_plan_comments(&report(output, Vec::new()), &opts);
    assert_well_formed(&comments, &opts);
    assert!(
        comments[0].contains("\n```````diff\n"),
        "fence longer than the longest run"
    );
}

#[test]
fn table_rows_are_capped_with_a_count_of_the_rest() {
    let changes: Vec<ResourceChange> = (0..120)
        .map(|i| ResourceChange {
            address: format!("terraform_data.vm[{i}]"),
            action: ChangeAction::Update,
        })
        .collect();
    let opts = CommentOptions {
        max_table_rows: 30,
        ..CommentOptions::default()
    };
    let comments = render_plan_comments(&report("x", changes), &opts);
    assert_eq!(comments[0].matches("| 🔄 update |").count(), 30);
    assert!(comments[0].contains("| … | and 90 more |"));
}

#[test]
fn long_output_is_split_with_the_code_block_closed_and_reopened() {
    let output: String =
        std::iter::once("Terraform will perform the following actions:\n".to_owned())
            .chain((0..3000).map(|i| format!("  + line {i}\n")))
            .collect();
    let opts = CommentOptions {
        max_chars: 8_000,
        max_comments: 4,
        ..CommentOptions::default()
    };
    let comments = render_plan_comments(&report(&output, Vec::new()), &opts);
    assert_eq!(comments.len(), 4);
    assert_well_formed(&comments, &opts);
    assert!(comments[1].contains("**Terraform plan for `gpu-box` — output continued (part 2/4)**"));
    assert!(comments[1].contains("<details><summary>Terraform plan output (part 2/4)</summary>"));
    assert!(comments[3].ends_with("+   + line 2999\n```\n</details>\n"));
    assert!(comments[0].contains("are left out below; the end is kept"));
    // Consecutive: what is posted is one contiguous run of lines ending at the last.
    let posted: Vec<usize> = comments
        .iter()
        .flat_map(|c| c.lines())
        .filter_map(|l| l.strip_prefix("+   + line "))
        .map(|n| n.parse().unwrap())
        .collect();
    assert!(posted.windows(2).all(|w| w[1] == w[0] + 1));
    assert_eq!(*posted.last().unwrap(), 2999);
}

fn output_line() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ a-z0-9=\"{}]{0,60}".prop_map(|s| s),
        "[ +~-]{1,4}[a-z ]{0,40}".prop_map(|s| s),
        Just("```".to_string()),
        Just("</details>".to_string()),
        Just("<summary>".to_string()),
        "[é漢`|<>]{0,30}".prop_map(|s| s),
        "x{2500,3000}".prop_map(|s| s),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn any_output_gives_well_formed_comments_that_end_with_the_output(
        lines in proptest::collection::vec(output_line(), 0..400),
        max_chars in 6_000usize..20_000,
        max_comments in 1usize..6,
    ) {
        let output = lines.join("\n");
        let opts = CommentOptions { max_chars, max_comments, ..CommentOptions::default() };
        let comments = render_plan_comments(&report(&output, Vec::new()), &opts);
        assert_well_formed(&comments, &opts);
        // The transcript drops blank lines at its ends; only the changes get a diff sign.
        let signs = change_signs(&output);
        let last = output.lines().enumerate().filter(|(_, line)| !line.is_empty()).last();
        if let Some((index, last_line)) = last {
            let expected = format!("{} {last_line}", signs[index]);
            if expected.len() < 1_900 && !expected.contains("````````````````") {
                let end = format!("{expected}\n");
                let last = comments.last().unwrap();
                prop_assert!(last.contains(&end), "last line missing");
            }
        }
    }
}

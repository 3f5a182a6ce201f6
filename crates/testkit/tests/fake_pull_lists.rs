//! A pull request's files and commits over plain HTTP, as GitHub answers them: renamed
//! files with `previous_filename`, the counts single answers carry and lists leave out,
//! and a comparison's commits.

mod http_support;

use http_support::{get_json, setup};
use serde_json::{Value, json};

#[tokio::test]
async fn pull_request_files_name_renames_and_single_answers_count_files_and_commits() {
    let (gh, c, t) = setup().await;
    gh.set_file("acme/infra", "main", "d/a/vars", "same");
    gh.set_file("acme/infra", "main", "edited.txt", "1");
    gh.commit_files(
        "acme/infra",
        "move",
        &[("d/a/vars", None), ("d/b/vars", Some(b"same"))],
        "Move a to b",
    );
    gh.set_file("acme/infra", "move", "edited.txt", "2");
    let n = gh.open_pr("acme/infra", "move", "main", "Move", "", "alice");
    let files = get_json(&gh, &c, &t, &format!("/repos/acme/infra/pulls/{n}/files")).await;
    let files: Vec<(Value, Value, Value)> = files
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["filename"].clone(),
                f["status"].clone(),
                f["previous_filename"].clone(),
            )
        })
        .collect();
    assert_eq!(
        files,
        vec![
            (json!("d/b/vars"), json!("renamed"), json!("d/a/vars")),
            (json!("edited.txt"), json!("modified"), Value::Null),
        ]
    );
    let pr = get_json(&gh, &c, &t, &format!("/repos/acme/infra/pulls/{n}")).await;
    assert_eq!(
        (&pr["changed_files"], &pr["commits"]),
        (&json!(2), &json!(2))
    );
    // Lists leave the counts out, as GitHub's do.
    let list = get_json(&gh, &c, &t, "/repos/acme/infra/pulls").await;
    assert!(list[0].get("changed_files").is_none(), "{list}");
    assert!(list[0].get("commits").is_none(), "{list}");
    // A comparison lists the same rename, and the commits beyond its base.
    let compare = get_json(&gh, &c, &t, "/repos/acme/infra/compare/main...move").await;
    assert_eq!(compare["files"][0]["previous_filename"], "d/a/vars");
    assert_eq!(compare["total_commits"], 2);
    let messages: Vec<&Value> = compare["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["commit"]["message"])
        .collect();
    assert_eq!(
        messages,
        [&json!("Move a to b"), &json!("Update edited.txt")]
    );
}

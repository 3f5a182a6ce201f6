//! Downloading a commit's source: GitHub's tarball through its redirect, and the caller's
//! size limit.

mod client_support;

use std::io::Read;

use client_support::{FULL, env, repo_name};
use promptops_core::CommitSha;
use promptops_github::client::GithubError;

const TFVARS: &str = "terraform/deployments/web/terraform.tfvars";

#[tokio::test]
async fn tarball_holds_the_commit_under_one_top_directory() {
    let e = env().await;
    e.gh.set_file(
        FULL,
        "main",
        "terraform/main.tf",
        "resource \"terraform_data\" \"vm\" {}\n",
    );
    let sha = e.gh.set_file(FULL, "main", TFVARS, "vm_count = 2\n");
    e.gh.set_file(FULL, "main", TFVARS, "vm_count = 3\n"); // later commit: must not leak in

    let gz = e
        .api
        .download_tarball(&repo_name(), &sha.parse().unwrap(), 1 << 20)
        .await
        .unwrap();
    let mut files = std::collections::BTreeMap::new();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&gz[..]));
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let mut text = String::new();
        entry.read_to_string(&mut text).unwrap();
        files.insert(path, text);
    }
    let top = format!("acme-infra-{}", &sha[..7]);
    assert_eq!(
        files.keys().cloned().collect::<Vec<_>>(),
        vec![
            format!("{top}/terraform/deployments/web/terraform.tfvars"),
            format!("{top}/terraform/main.tf")
        ]
    );
    assert_eq!(files[&format!("{top}/{TFVARS}")], "vm_count = 2\n");
    // GitHub answers with a redirect to a download URL; the client followed it.
    assert_eq!(
        e.gh.requests_to("GET", "/repos/acme/infra/tarball/").len(),
        1
    );
    assert_eq!(e.gh.requests_to("GET", "/_codeload/acme/infra/").len(), 1);
}

#[tokio::test]
async fn a_tarball_over_the_callers_limit_is_refused_naming_it() {
    let e = env().await;
    let sha: CommitSha =
        e.gh.set_file(
            FULL,
            "main",
            "terraform/main.tf",
            "# padding\n".repeat(2000),
        )
        .parse()
        .unwrap();
    let whole = e
        .api
        .download_tarball(&repo_name(), &sha, 1 << 20)
        .await
        .unwrap();
    let size = whole.len() as u64;
    let exact = e.api.download_tarball(&repo_name(), &sha, size).await;
    assert_eq!(
        exact.unwrap(),
        whole,
        "a tarball of exactly the limit is taken"
    );
    let err = e
        .api
        .download_tarball(&repo_name(), &sha, size - 1)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, GithubError::TooLarge { limit, .. } if *limit == size - 1),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains(&format!("larger than {} bytes", size - 1)),
        "{err}"
    );
    assert!(
        !err.is_transient(),
        "a larger limit, not a retry, would help"
    );
    // Refused once, not retried: three downloads, each one redirect and one fetch.
    assert_eq!(e.gh.requests_to("GET", "/_codeload/acme/infra/").len(), 3);
}

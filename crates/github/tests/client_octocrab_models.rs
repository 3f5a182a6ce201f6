//! The fake's answers deserialize into octocrab's typed models: code that uses octocrab's own
//! handlers against the fake sees the shapes it would see on GitHub.

mod client_support;

use client_support::{FULL, INSTALLATION, OWNER, REPO, branch_with_change};
use octocrab::Octocrab;
use octocrab::models::{AppId, InstallationId};
use octocrab::params::repos::Reference;
use promptops_testkit::FakeGithub;

async fn octocrab_for(gh: &FakeGithub) -> Octocrab {
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(gh.private_key_pem().as_bytes()).unwrap();
    Octocrab::builder()
        .base_uri(gh.url())
        .unwrap()
        .app(AppId(gh.app_id()), key)
        .build()
        .unwrap()
        .installation(InstallationId(INSTALLATION))
        .unwrap()
}

#[tokio::test]
async fn typed_octocrab_calls_work_against_the_fake() {
    let gh = FakeGithub::start().await;
    gh.add_repo(FULL);
    gh.add_installation(INSTALLATION, OWNER);
    let octo = octocrab_for(&gh).await;

    let repo = octo.repos(OWNER, REPO).get().await.unwrap();
    assert_eq!(repo.default_branch.as_deref(), Some("main"));
    assert_eq!(repo.full_name.as_deref(), Some(FULL));

    let main = gh.branch_head(FULL, "main").unwrap();
    let r = octo
        .repos(OWNER, REPO)
        .get_ref(&Reference::Branch("main".into()))
        .await
        .unwrap();
    match r.object {
        octocrab::models::repos::Object::Commit { sha, .. } => assert_eq!(sha, main),
        other => panic!("expected a commit ref, got {other:?}"),
    }

    let created = octo
        .repos(OWNER, REPO)
        .create_file("docs/a.md", "Add a", "hello\n")
        .branch("main")
        .send()
        .await
        .unwrap();
    assert_eq!(created.commit.sha, gh.branch_head(FULL, "main"));
    let items = octo
        .repos(OWNER, REPO)
        .get_content()
        .path("docs/a.md")
        .r#ref("main")
        .send()
        .await
        .unwrap();
    assert_eq!(items.items[0].decoded_content().as_deref(), Some("hello\n"));
    let listing = octo
        .repos(OWNER, REPO)
        .get_content()
        .path("docs")
        .send()
        .await
        .unwrap();
    assert_eq!(listing.items.len(), 1);
    assert_eq!(listing.items[0].path, "docs/a.md");

    let head = branch_with_change(&gh, "feature");
    let pr = octo
        .pulls(OWNER, REPO)
        .create("Feature", "feature", "main")
        .body("Closes #1")
        .send()
        .await
        .unwrap();
    assert_eq!(pr.head.sha, head);
    let open = octo
        .pulls(OWNER, REPO)
        .list()
        .state(octocrab::params::State::Open)
        .head("acme:feature")
        .send()
        .await
        .unwrap();
    assert_eq!(open.items.len(), 1);
    let got = octo.pulls(OWNER, REPO).get(pr.number).await.unwrap();
    assert_eq!(got.title.as_deref(), Some("Feature"));

    let issue_no = gh.add_issue(FULL, "alice", "GPUs", "5 T4");
    let issue = octo.issues(OWNER, REPO).get(issue_no).await.unwrap();
    assert_eq!(issue.title, "GPUs");
    let c = octo
        .issues(OWNER, REPO)
        .create_comment(issue_no, "hi")
        .await
        .unwrap();
    assert_eq!(c.body.as_deref(), Some("hi"));
    let comments = octo
        .issues(OWNER, REPO)
        .list_comments(issue_no)
        .send()
        .await
        .unwrap();
    assert_eq!(comments.items.len(), 1);
    assert_eq!(comments.items[0].user.login, gh.bot_login());

    let run = octo
        .checks(OWNER, REPO)
        .create_check_run("promptops/plan", head.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(run.head_sha, head);
    assert_eq!(gh.check_runs().len(), 1);

    let tarball = octo
        .repos(OWNER, REPO)
        .download_tarball(head)
        .await
        .unwrap();
    assert_eq!(tarball.status(), 200);
}

//! The dashboard as a person uses it, in real Chromium at 1280 and 390 px wide: a request
//! planned through a real webhook, its apply and lock, then the overview, the deployment
//! page, the runs, unlocking through the confirmation step and the try page. Assertions are
//! on the DOM the browser built and laid out (styles applied, nothing wider than the window).

use crate::support;
use promptops_store::RunKind;

use promptops_core::IssueNumber;
use promptops_store::{NewRun, RunStatus};
use support::chromium::{DevTools, chromium};
use support::{IssueRef, Options, REPO, TestService, commit_sha, repo_name};

const TOKEN: &str = "dashboard-browser-token";
const PROMPT: &str = "I need 2 VMs with 2 T4 GPUs each in us-west1 for inference";
/// A refusal whose message lists every region: the longest line the pages show.
const REFUSED: &str = "one T4 in mars-north1";
const APP_URL: &str = "https://inference.example.com/";

/// The checks every page passes at every width: the app's stylesheet is applied (the
/// header's colour) and nothing is wider than the window.
const FITS: &str = "getComputedStyle(document.querySelector('header.top')).backgroundColor === 'rgb(36, 41, 47)' \
    && document.documentElement.scrollWidth <= window.innerWidth";

fn text(browser: &mut DevTools, selector: &str) -> String {
    let selector = serde_json::to_string(selector).unwrap();
    browser
        .evaluate(&format!(
            "(document.querySelector({selector}) || {{textContent: '<missing {selector}>'}}).textContent"
        ))
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn holds(browser: &mut DevTools, expression: &str) -> bool {
    browser.evaluate(expression) == serde_json::json!(true)
}

fn dollars(text: &str) -> f64 {
    let figure: String = text
        .trim_start_matches('$')
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',' || *c == '.')
        .filter(|c| *c != ',')
        .collect();
    figure
        .parse()
        .unwrap_or_else(|_| panic!("not an amount: {text}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_reads_well_at_desktop_and_phone_width() {
    chromium();
    let mut service = TestService::start(Options {
        dashboard_token: Some(TOKEN.to_owned()),
        // Links on the pages point at GitHub's web address, not at the fake's API.
        github_web_url: Some("https://github.com".to_owned()),
        ..Options::default()
    })
    .await;
    let number = service.github.add_issue(REPO, "alice", "", PROMPT);
    assert_eq!(number, 1, "the try page's PR body names issue #1");
    let issue = IssueRef {
        number,
        title: String::new(),
        body: PROMPT.to_owned(),
        is_pull_request: false,
    };
    service.command(&issue, "alice", "/promptops plan").await;
    let record = service
        .store
        .request_for_issue(&repo_name(), IssueNumber::new(number))
        .await
        .unwrap();
    let record = record.expect("the plan recorded its request");
    let pr = record.pr.expect("the plan opened a pull request");
    let details = service
        .store
        .request_details(&repo_name(), IssueNumber::new(number))
        .await
        .unwrap()
        .expect("the plan recorded the request's text and tfvars");
    assert_eq!(details.prompt, PROMPT);
    let values = promptops_core::parse_tfvars(&details.tfvars).unwrap();
    let bot_pr_body = service.github.prs()[0].body.clone().unwrap_or_default();

    // Applied and locked, as a merge and its apply leave it.
    let run = service
        .store
        .insert_run(&NewRun {
            repo: repo_name(),
            pr: Some(pr),
            deployment: record.deployment.clone(),
            kind: RunKind::Apply,
            sha: Some(commit_sha("0a1b2c3")),
        })
        .await
        .unwrap();
    let output =
        format!("Apply complete! Resources: 3 added.\n\nOutputs:\n\napp_url = \"{APP_URL}\"\n");
    service
        .store
        .finish_run(run, RunStatus::Succeeded, "Applied 3 resources", &output)
        .await
        .unwrap();
    service
        .store
        .acquire_lock(&repo_name(), &record.deployment, pr)
        .await
        .unwrap();

    let base = service.url("");
    let deployment = record.deployment.clone();
    let gpus = u64::from(values.vm_count) * u64::from(values.gpu_count);
    let expected_hourly = promptops_core::Catalog::embedded()
        .estimate(&promptops_core::DeploymentRequest::from(values.clone()))
        .hourly_usd;
    let tfvars = details.tfvars.clone();
    let store = service.store.clone();
    tokio::task::spawn_blocking(move || {
        let page = |path: &str| {
            let join = if path.contains('?') { '&' } else { '?' };
            format!("{base}{path}{join}token={TOKEN}")
        };
        let deployment_path = format!("/dashboard/deployments/{REPO}/{deployment}");
        let mut browser = DevTools::open(&page("/dashboard"));
        for width in [1280, 390] {
            browser.set_width(width);
            for path in ["/dashboard", deployment_path.as_str(), "/dashboard/runs", "/dashboard/locks", "/dashboard/try"] {
                browser.navigate(&page(path));
                assert!(holds(&mut browser, FITS), "{path} at {width} px: unstyled or wider than the window");
            }
        }
        browser.set_width(1280);

        // The overview: running GPUs and spend, per repository, with links to GitHub.
        browser.navigate(&page("/dashboard"));
        assert_eq!(text(&mut browser, "#running-gpus"), gpus.to_string());
        let hourly = dollars(&text(&mut browser, "#spend-hour"));
        assert!((hourly - expected_hourly).abs() < 0.006, "{hourly} vs {expected_hourly}");
        let issue_link = format!("a[href='https://github.com/{REPO}/issues/1']");
        assert!(holds(&mut browser, &format!("!!document.querySelector(\"{issue_link}\")")), "the issue links to GitHub");
        assert!(
            holds(&mut browser, &format!("!!document.querySelector(\"a[href='https://github.com/{REPO}/pull/{pr}']\")")),
            "the pull request links to GitHub"
        );
        assert!(
            holds(&mut browser, "[...document.querySelectorAll('#deployments time')].every(t => /UTC$/.test(t.title) && /ago|just now/.test(t.textContent))"),
            "relative times with the absolute time as their title"
        );
        assert_eq!(text(&mut browser, "#deployments .badge"), "running");
        assert!(holds(&mut browser, "getComputedStyle(document.querySelector('#deployments .badge')).backgroundColor === 'rgb(218, 251, 225)'"));

        // The deployment page.
        browser.navigate(&page(&deployment_path));
        assert_eq!(text(&mut browser, "#tfvars"), tfvars);
        assert_eq!(text(&mut browser, "#request"), PROMPT);
        assert!(text(&mut browser, "#gpus").contains(&format!("{} × NVIDIA T4", values.gpu_count)), "{}", text(&mut browser, "#gpus"));
        assert_eq!(text(&mut browser, "#region"), "us-west1");
        let cost = text(&mut browser, "#cost");
        assert!(cost.contains("/hour") && cost.contains("/month"), "{cost}");
        assert!((dollars(&cost) - expected_hourly).abs() < 0.006, "{cost}");
        assert!(text(&mut browser, "#lock").contains(&format!("#{pr}")));
        assert!(holds(&mut browser, &format!("document.querySelector('#app-urls a').href === '{APP_URL}'")));
        assert_eq!(text(&mut browser, &format!("#run-{run} .badge")), "succeeded");
        assert!(
            holds(&mut browser, &format!("!!document.querySelector(\"#run-{run} a[href='https://github.com/{REPO}/pull/{pr}']\")")),
            "the run's pull request links to GitHub"
        );

        // Unlocking goes through a confirmation page.
        browser.navigate(&page("/dashboard/locks"));
        browser.evaluate("document.querySelector('a.unlock').click(); true");
        browser.wait_for("document.readyState === 'complete' && !!document.getElementById('confirm')");
        assert!(holds(&mut browser, "getComputedStyle(document.querySelector('button.danger')).backgroundColor === 'rgb(207, 34, 46)'"));
        browser.evaluate("document.querySelector('button.danger').click(); true");
        browser.wait_for("document.readyState === 'complete' && !!document.getElementById('notice')");
        assert!(text(&mut browser, "#notice").starts_with("Unlocked "), "{}", text(&mut browser, "#notice"));

        // The try page: a label, an example, and the pull request the bot opens.
        browser.navigate(&page("/dashboard/try"));
        assert!(holds(&mut browser, "document.querySelector('label[for=prompt]').textContent.length > 0"));
        browser.evaluate(&format!(
            "document.querySelector('textarea[name=prompt]').value = {}; document.querySelector('form[action=\"/dashboard/try\"] button').click(); true",
            serde_json::to_string(PROMPT).unwrap()
        ));
        browser.wait_for("document.readyState === 'complete' && !!document.getElementById('pr-body')");
        assert_eq!(text(&mut browser, "#pr-body"), bot_pr_body, "the try page shows the very PR body the bot opened");
        assert!(!text(&mut browser, "#rationale").is_empty());
        browser.set_width(390);
        assert!(holds(&mut browser, "document.documentElement.scrollWidth <= window.innerWidth"), "the PR body wraps at 390 px");

        // A refusal's long list of regions wraps in its box.
        for width in [1280, 390] {
            browser.set_width(width);
            browser.navigate(&page("/dashboard/try"));
            browser.evaluate(&format!(
                "document.querySelector('textarea[name=prompt]').value = {}; document.querySelector('form[action=\"/dashboard/try\"] button').click(); true",
                serde_json::to_string(REFUSED).unwrap()
            ));
            browser.wait_for("document.readyState === 'complete' && !!document.getElementById('errors')");
            assert!(text(&mut browser, "#errors").contains("us-central1"));
            assert!(
                holds(&mut browser, "document.getElementById('errors').scrollWidth <= document.getElementById('errors').clientWidth && document.documentElement.scrollWidth <= window.innerWidth"),
                "the error box wraps at {width} px"
            );
        }
    })
    .await
    .unwrap();
    assert!(
        store
            .lock(&repo_name(), &record.deployment)
            .await
            .unwrap()
            .is_none(),
        "the confirmed unlock removed the lock"
    );
    service.stop().await;
}

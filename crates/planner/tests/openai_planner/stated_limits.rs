//! What the request states beyond the deployment's fields, held against the model's plan:
//! places ruled out, a budget and a machine size get a repair turn when the plan breaks
//! them; VMs in different roles are refused before any token is spent; what an earlier run
//! used is not held against the plan.

use super::*;

#[tokio::test]
async fn a_model_that_places_the_plan_where_the_request_rules_out_is_repaired() {
    // "anywhere except us-west1": the model's us-west1-b was taken as it came.
    let server = MockServer::start().await;
    let mut input = input();
    input.body = "We need 2 V100 VMs, anywhere except us-west1.".to_owned();
    input.instructions = "use a 200 GB boot disk".to_owned();
    let ruled_out = draft(json!({}));
    let elsewhere = draft(json!({"zone": "us-central1-a"}));
    answer_in_order(
        &server,
        vec![completion(&ruled_out), completion(&elsewhere)],
    )
    .await;
    let outcome = plan(&server, &input).await.expect("repaired");
    assert_eq!(outcome.request.zone, "us-central1-a");
    let sent = requests(&server).await;
    assert_eq!(sent.len(), 2);
    assert!(
        messages(&sent[0])[1]
            .1
            .contains("not in region us-west1 (\"anywhere except us-west1\")"),
        "the place ruled out is among the values the model must keep: {}",
        messages(&sent[0])[1].1
    );
    assert!(
        messages(&sent[1])[3]
            .1
            .contains("the request rules out region us-west1 (\"anywhere except us-west1\")"),
        "the repair turn names it: {:?}",
        messages(&sent[1])[3]
    );
}

#[tokio::test]
async fn a_model_plan_over_the_stated_budget_is_repaired() {
    // "budget under $5/hour": 2 V100 VMs on n1-standard-8 cost more; the model's plan was
    // taken as it came.
    let server = MockServer::start().await;
    let mut input = input();
    input.body = "We need V100 VMs in us-west1, budget under $5/hour.".to_owned();
    let over = draft(json!({"vm_count": 3}));
    let within = draft(json!({"vm_count": 1}));
    answer_in_order(&server, vec![completion(&over), completion(&within)]).await;
    let outcome = plan(&server, &input).await.expect("repaired");
    assert_eq!(outcome.request.vm_count, 1);
    let sent = requests(&server).await;
    assert_eq!(sent.len(), 2);
    assert!(
        messages(&sent[0])[1]
            .1
            .contains("estimated cost at most $5.00/hour (\"budget under $5/hour\")"),
        "the budget is among the values the model must keep: {}",
        messages(&sent[0])[1].1
    );
    assert!(
        messages(&sent[1])[3]
            .1
            .contains("over the budget of $5.00/hour"),
        "the repair turn names it: {:?}",
        messages(&sent[1])[3]
    );
}

#[tokio::test]
async fn vms_in_different_roles_are_refused_before_calling_the_model() {
    let server = MockServer::start().await;
    let mut input = input();
    input.body = "A100 cluster: 1 master + 3 workers, 8 GPUs per worker".to_owned();
    let err = plan(&server, &input).await.expect_err("different roles");
    assert!(
        err.to_string()
            .contains("\"1 master\" and \"3 workers\" are VMs in different roles"),
        "{err}"
    );
    assert!(requests(&server).await.is_empty(), "no tokens spent");
}

#[tokio::test]
async fn a_model_machine_smaller_than_the_stated_size_is_repaired() {
    // "16 vCPUs each": the model's n1-standard-8 was taken as it came, the vCPUs named in
    // the plan as not used. (One V100 allows 12 vCPUs at most, so the model adds a GPU.)
    let server = MockServer::start().await;
    let mut input = input();
    input.body = "We need 2 V100 VMs in us-west1 with 16 vCPUs each.".to_owned();
    let small = draft(json!({}));
    let sized = draft(json!({"gpu_count": 2, "machine_type": "n1-standard-16"}));
    answer_in_order(&server, vec![completion(&small), completion(&sized)]).await;
    let outcome = plan(&server, &input).await.expect("repaired");
    assert_eq!(outcome.request.machine_type, "n1-standard-16");
    let sent = requests(&server).await;
    assert_eq!(sent.len(), 2);
    assert!(
        messages(&sent[0])[1]
            .1
            .contains("machine_type with at least 16 vCPUs per VM (\"16 vCPUs\")"),
        "the size is among the values the model must keep: {}",
        messages(&sent[0])[1].1
    );
    assert!(
        messages(&sent[1])[3].1.contains(
            "machine type n1-standard-8 has 8 vCPUs and 30 GB of memory, less than the 16 vCPUs per VM the request asks for"
        ),
        "the repair turn names it: {:?}",
        messages(&sent[1])[3]
    );
}

#[tokio::test]
async fn a_model_that_plans_the_fallback_gpu_is_repaired() {
    // "V100 preferred but T4 is fine too" was refused as two GPU types on the offline path
    // and left to the model on this one.
    let server = MockServer::start().await;
    let mut input = input();
    input.body = "We need 2 VMs in us-west1, V100 preferred but T4 is fine too.".to_owned();
    let fallback = draft(json!({"gpu_type": "nvidia-tesla-t4", "machine_type": null}));
    let preferred = draft(json!({}));
    answer_in_order(&server, vec![completion(&fallback), completion(&preferred)]).await;
    let outcome = plan(&server, &input).await.expect("repaired");
    assert_eq!(outcome.request.gpu_type, "nvidia-tesla-v100");
    let sent = requests(&server).await;
    assert_eq!(sent.len(), 2, "one repair turn");
    assert!(
        messages(&sent[0])[1]
            .1
            .contains("gpu_type nvidia-tesla-v100 (\"v100\")"),
        "the preferred GPU is the value the model must keep: {}",
        messages(&sent[0])[1].1
    );
}

#[tokio::test]
async fn what_an_earlier_run_used_is_not_held_against_the_model() {
    // "We tried 2 T4 VMs ... too slow": refused before any token was spent, as naming two
    // GPU types. Now the T4s are context: a model planning them gets a repair turn, and
    // its V100 plan is taken.
    let server = MockServer::start().await;
    let mut input = input();
    input.body =
        "We tried 2 T4 VMs and they were too slow, so we need 2 V100 VMs in us-west1.".to_owned();
    let earlier = draft(json!({"gpu_type": "nvidia-tesla-t4"}));
    let asked = draft(json!({}));
    answer_in_order(&server, vec![completion(&earlier), completion(&asked)]).await;
    let outcome = plan(&server, &input).await.expect("repaired");
    assert_eq!(outcome.request.gpu_type, "nvidia-tesla-v100");
    assert_eq!(outcome.request.vm_count, 2);
    assert_eq!(requests(&server).await.len(), 2);
}

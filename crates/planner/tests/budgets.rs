//! A budget the request states holds the plan to it: a plan over it is refused naming the
//! cost and the budget, one within it says how the budget was read, and a budget without a
//! period is named as not used. Before, every budget was passed over without a word.

mod support;

use support::{T4, assert_plans, assert_refused_saying, planned, said};

#[test]
fn a_plan_over_the_budget_is_refused_with_its_cost() {
    assert_refused_saying(
        "Need 2 T4 VMs in us-west1; budget under $1/hour",
        "the plan costs about $1.08/hour (2 x n1-standard-4 with 1 x nvidia-tesla-t4 each), over the budget of $1.00/hour (\"budget under $1/hour\")",
    );
    assert_refused_saying(
        "Need 2 T4 VMs in us-west1; budget is $500/month",
        "the plan costs about $788/month",
    );
    assert_refused_saying(
        "Need 8 H100s, max $50/hour",
        "over the budget of $50.00/hour",
    );
    // The limit word may follow the amount.
    assert_refused_saying(
        "Need 2 A100 80GB VMs, $5/hour tops",
        "over the budget of $5.00/hour (\"$5/hour tops\")",
    );
}

#[test]
fn a_plan_within_the_budget_says_how_it_was_read() {
    assert_plans(&[
        ("Need 2 T4 VMs in us-west1; budget is $1000/month", 2, 1, T4),
        ("need 2 vms with t4, budget: 1000 USD/month", 2, 1, T4),
        ("2 T4 VMs, keep it below $2.50 per hour", 2, 1, T4),
    ]);
    let outcome = planned("Need 2 T4 VMs in us-west1; budget is $1000/month");
    assert!(
        said(
            &outcome,
            "\"budget is $1000/month\" read as a budget of $1,000/month for the deployment"
        ),
        "{:?}",
        outcome.request.assumptions
    );
}

#[test]
fn a_budget_without_a_period_is_named_and_a_price_is_no_budget() {
    let outcome = planned("Need 2 T4 VMs; budget is $500");
    assert!(
        said(
            &outcome,
            "\"budget is $500\" was not used as a budget: it says no period"
        ),
        "{:?}",
        outcome.request.assumptions
    );
    // A price asked about is not a limit: 2 T4 VMs cost more than $0.35/hour.
    assert_plans(&[(
        "T4 VMs cost $0.35/hour each, right? We need 2 T4 VMs",
        2,
        1,
        T4,
    )]);
}

#[test]
fn a_budget_in_other_words_is_read() {
    // Each was passed over without a word ("$1k" read as $1 with no period).
    assert_refused_saying(
        "2 T4 VMs, max spend $1 per hour",
        "over the budget of $1.00/hour (\"max spend $1 per hour\")",
    );
    assert_refused_saying(
        "2 T4 VMs, keep costs below $0.5k/month",
        "over the budget of $500/month",
    );
    // Without a currency after money's own words: read in US dollars, and said.
    assert_refused_saying(
        "2 A100 80GB VMs, spending cap 5000/month",
        "over the budget of $5,000/month (\"spending cap 5000/month\")",
    );
    let outcome = planned("2 T4 VMs, cost limit 2/hour");
    assert!(
        said(
            &outcome,
            "\"cost limit 2/hour\" read as a budget of $2.00/hour for the deployment (no currency named: read in US dollars, the catalog's)"
        ),
        "{:?}",
        outcome.request.assumptions
    );
    // A bare number after other limit words, or money spent, is no budget.
    assert_plans(&[
        ("Need 2 T4 VMs, max 4 per hour", 2, 1, T4),
        (
            "we are spending 5000/month on T4 VMs, need 2 T4 VMs",
            2,
            1,
            T4,
        ),
    ]);
}

#[test]
fn a_budget_per_day_or_week_is_held_and_other_currencies_are_named() {
    // "per week" was named as saying no period; "a day" was passed over.
    assert_refused_saying(
        "Need 2 T4 VMs in us-west1, no more than 150 USD per week",
        "the plan costs about $181/week (2 x n1-standard-4 with 1 x nvidia-tesla-t4 each), over the budget of $150/week",
    );
    assert_refused_saying(
        "Need 2 A100 VMs, budget $100 a day",
        "over the budget of $100.00/day",
    );
    assert_plans(&[("Need 2 T4 VMs in us-west1, budget $200/week", 2, 1, T4)]);
    // Passed over without a word: the plan may cost more than the budget meant.
    let outcome = planned("Need 2 T4 VMs, budget ~€400/month");
    assert!(
        said(
            &outcome,
            "\"budget ~€400/month\" was not used as a budget: budgets are read in US dollars"
        ),
        "{:?}",
        outcome.request.assumptions
    );
}

//! A budget the request states ("budget under $1/hour", "keep it below $500 per month",
//! "max 20 USD/hour"). It was passed over: a plan costing more than the budget was planned
//! without a word. Now the plan is held to it (`Mentions::check_budget`), on the offline
//! and the model path alike, and a budget without a period ("budget is $500") is named in
//! the plan as not used, with what to write.
//!
//! Only an amount after words that make it a limit counts: "T4s cost $0.35/hour, right?"
//! names a price, not a budget.

use std::sync::LazyLock;

use promptops_core::{Catalog, DeploymentRequest, ValidationError, usd};
use regex::Regex;

use super::{Mentioned, Mentions};

/// What a budget is counted over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Hour,
    Month,
}

/// At most this many US cents per period, for the whole deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub cents: u64,
    pub per: Period,
}

impl std::fmt::Display for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let amount = self.cents as f64 / 100.0;
        match self.per {
            Period::Hour => write!(f, "{}/hour", usd(amount, 2)),
            Period::Month => write!(f, "{}/month", usd(amount, 0)),
        }
    }
}

static BUDGET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)
        (?: \b (?P<lead>
            # Words that name money: a number after them needs no currency (budget 500/month).
            (?P<money> budget (?: \s+ (?: is | of | at | under | below | max ) )?
              # Not spend or cost alone: T4s cost $0.35/hour is a price.
              | (?: max(?:imum)? \s+ (?: spend(?:ing)? | costs? ) (?: \s+ (?: cap | limit ) )?
                | (?: spend(?:ing)? | costs? ) \s+ (?: cap | limit | max ) )
                (?: \s+ (?: is | of | at | under | below ) )? )
          | under | below | max(?:imum)?
          | at \s+ most | less \s+ than | no \s+ more \s+ than | up \s+ to | cap(?:ped)? \s+ at
          | limit(?:ed)? \s+ (?: of | to ) | within | not \s+ (?: to \s+ )? exceed(?:ing)?
        ) \s* [:=]? \s* )? (?: (?: about | around | roughly | ~ ) \s* )?
        (?: \$ \s* (?P<dollars>\d+(?:\.\d{1,2})?) (?P<k>k)? | (?P<plain>\d+(?:\.\d{1,2})?) (?P<k2>k)? \s* (?: usd | dollars? | \$ )
          | (?P<bare>\d+(?:\.\d{1,2})?) (?P<k3>k)? )
        (?P<period> \s* (?: / | per \s+ | an? \s+ | each \s+ ) \s* (?P<unit> hours? | hrs? | h | months? | mo | mth ) \b )?
        # Or after it: $10/hour max.
        (?P<trail> \s* (?: max(?:imum)? | at \s+ most | tops | or \s+ less ) \b )?",
    )
    .expect("budget pattern")
});

/// The budgets `text` states, and the sentences naming one it states without a period.
pub(super) fn find(text: &str) -> (Vec<Mentioned<Budget>>, Vec<String>) {
    let mut budgets = Vec::new();
    let mut unread = Vec::new();
    for caps in BUDGET.captures_iter(text) {
        // An amount with no limit word before or after it is a price, not a budget.
        let limited = caps.name("lead").is_some() || caps.name("trail").is_some();
        if !limited {
            continue;
        }
        // A number without a currency is money only after money's own words and with a
        // period ("spending cap 5000/month"); "under 4 per VM" is no budget.
        let bare = caps.name("bare").is_some();
        if bare && (caps.name("money").is_none() || caps.name("unit").is_none()) {
            continue;
        }
        let written = caps[0].trim().to_owned();
        let amount = caps
            .name("dollars")
            .or(caps.name("plain"))
            .or(caps.name("bare"))
            .map_or("", |m| m.as_str());
        // "$1k/month".
        let thousands = ["k", "k2", "k3"].iter().any(|k| caps.name(k).is_some());
        let Some(unit) = caps.name("unit") else {
            unread.push(format!(
                "\"{written}\" was not used as a budget: it says no period; write it per hour or per month (e.g. \"budget $2/hour\", \"budget $500/month\")"
            ));
            continue;
        };
        let per = if unit.as_str().to_ascii_lowercase().starts_with('h') {
            Period::Hour
        } else {
            Period::Month
        };
        let Ok(mut dollars) = amount.parse::<f64>() else {
            continue;
        };
        if thousands {
            dollars *= 1000.0;
        }
        // Two decimals at most (the pattern's), so the cents are exact.
        let cents = (dollars * 100.0).round() as u64;
        let budget = Budget { cents, per };
        let currency = if bare {
            " (no currency named: read in US dollars, the catalog's)"
        } else {
            ""
        };
        let reading =
            format!("\"{written}\" read as a budget of {budget} for the deployment{currency}");
        budgets.push(Mentioned::new(budget, written).with_reading(reading));
    }
    (budgets, unread)
}

impl Mentions {
    /// One error per stated budget the plan's estimate is over ("budget under $1/hour"
    /// against $1.08/hour).
    pub fn check_budget(
        &self,
        request: &DeploymentRequest,
        catalog: &Catalog,
    ) -> Vec<ValidationError> {
        let estimate = catalog.estimate(request);
        self.budget
            .iter()
            .filter_map(|stated| {
                let (cost, shown) = match stated.value.per {
                    Period::Hour => (estimate.hourly_usd, format!("{}/hour", usd(estimate.hourly_usd, 2))),
                    Period::Month => (estimate.monthly_usd, format!("{}/month", usd(estimate.monthly_usd, 0))),
                };
                let cap = stated.value.cents as f64 / 100.0;
                (cost > cap + 1e-9).then(|| {
                    ValidationError::with_raw_value(
                        "budget",
                        shown.clone(),
                        format!(
                            "the plan costs about {shown} ({} x {} with {} x {} each), over the budget of {} (\"{}\"); ask for fewer VMs or GPUs, or a cheaper GPU, or raise the budget",
                            request.vm_count,
                            request.machine_type,
                            request.gpu_count,
                            request.gpu_type,
                            stated.value,
                            stated.written
                        ),
                    )
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budgets(text: &str) -> Vec<Budget> {
        find(text).0.into_iter().map(|m| m.value).collect()
    }

    #[test]
    fn amounts_after_limit_words_with_a_period_are_budgets() {
        let hour = |cents| Budget {
            cents,
            per: Period::Hour,
        };
        let month = |cents| Budget {
            cents,
            per: Period::Month,
        };
        assert_eq!(budgets("budget under $1/hour"), [hour(100)]);
        assert_eq!(budgets("keep it below $2.50 per hour"), [hour(250)]);
        assert_eq!(budgets("max 20 USD/hr"), [hour(2000)]);
        assert_eq!(budgets("budget is $500/month"), [month(50_000)]);
        assert_eq!(budgets("budget: ~$300 a month"), [month(30_000)]);
        assert_eq!(budgets("only if under $20/hour"), [hour(2000)]);
        assert_eq!(budgets("about $10/hour max"), [hour(1000)]);
    }

    #[test]
    fn prices_and_amounts_without_a_period_are_not() {
        assert!(budgets("T4s cost $0.35/hour, right?").is_empty());
        assert!(budgets("we spent $400 last month").is_empty());
        let (read, unread) = find("budget is $500");
        assert!(read.is_empty());
        assert_eq!(unread.len(), 1, "{unread:?}");
        assert!(unread[0].contains("\"budget is $500\" was not used as a budget"));
    }
}

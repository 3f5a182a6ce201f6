//! A budget the request states ("budget under $1/hour", "keep it below $500 per month",
//! "max 20 USD/hour"). It was passed over: a plan costing more than the budget was planned
//! without a word. Now the plan is held to it (`Mentions::check_budget`), on the offline
//! and the model path alike. A budget is per hour, day, week or month, in US dollars (the
//! catalog's prices); one without a period ("budget is $500") or in another currency
//! ("budget ~€400/month") is named in the plan as not used, with what to write.
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
    Day,
    Week,
    Month,
}

impl Period {
    fn name(self) -> &'static str {
        match self {
            Period::Hour => "hour",
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
        }
    }

    /// Dollars to the cent for the short periods, whole dollars for the long ones.
    fn cent_digits(self) -> usize {
        match self {
            Period::Hour | Period::Day => 2,
            Period::Week | Period::Month => 0,
        }
    }

    /// Hours in the period, for the hourly estimate; a month is the catalog's own
    /// (`monthly_usd`), so it has none here.
    fn hours(self) -> Option<f64> {
        match self {
            Period::Hour => Some(1.0),
            Period::Day => Some(24.0),
            Period::Week => Some(168.0),
            Period::Month => None,
        }
    }
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
        let per = self.per;
        write!(f, "{}/{}", usd(amount, per.cent_digits()), per.name())
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
            # Another currency: named as not read (€400/month was passed over in silence).
          | (?P<foreign> (?: € | £ | ¥ | ₹ ) \s* \d+(?:[.,]\d+)? k?
              | \d+(?:[.,]\d+)? k? \s* (?: € | £ | eur | euros? | gbp | pounds? | chf | cad | aud | jpy | yen | inr ) \b )
          | (?P<bare>\d+(?:\.\d{1,2})?) (?P<k3>k)? )
        (?P<period> \s* (?: / | per \s+ | an? \s+ | each \s+ ) \s* (?P<unit> hours? | hrs? | h | days? | d | weeks? | wk | months? | mo | mth ) \b )?
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
        if caps.name("foreign").is_some() {
            unread.push(format!(
                "\"{written}\" was not used as a budget: budgets are read in US dollars, the catalog's prices; write it in dollars (e.g. \"budget $500/month\")"
            ));
            continue;
        }
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
        let per = match unit.as_str().to_ascii_lowercase().as_bytes().first() {
            Some(b'h') => Period::Hour,
            Some(b'd') => Period::Day,
            Some(b'w') => Period::Week,
            _ => Period::Month,
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
                let per = stated.value.per;
                let cost = per
                    .hours()
                    .map_or(estimate.monthly_usd, |hours| estimate.hourly_usd * hours);
                let shown = format!("{}/{}", usd(cost, per.cent_digits()), per.name());
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
        // "per week" was read as no period; "a day" was passed over.
        assert_eq!(
            budgets("no more than 200 USD per week"),
            [Budget {
                cents: 20_000,
                per: Period::Week
            }]
        );
        assert_eq!(
            budgets("budget $30 a day"),
            [Budget {
                cents: 3_000,
                per: Period::Day
            }]
        );
    }

    #[test]
    fn amounts_in_other_currencies_are_named_not_read() {
        // Passed over without a word.
        for text in [
            "budget ~€400/month",
            "max 300 EUR per month",
            "under £2/hour",
        ] {
            let (read, unread) = find(text);
            assert!(read.is_empty(), "{text:?}: {read:?}");
            assert_eq!(unread.len(), 1, "{text:?}: {unread:?}");
            assert!(
                unread[0].contains("budgets are read in US dollars"),
                "{unread:?}"
            );
        }
        // A price in euros is no budget.
        assert_eq!(find("T4s cost €0.30/hour").1.len(), 0);
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

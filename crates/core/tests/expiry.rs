//! The expiry value: lifetimes as written, the model's keys read strictly, dates checked
//! against the repository's maximum.

use chrono::{NaiveDate, TimeZone, Utc, Weekday};
use promptops_core::{DeploymentDraft, ExpiryRequest, Lifetime};
use serde_json::json;

fn object(value: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    value.as_object().unwrap().clone()
}

#[test]
fn lifetimes_read_and_print_in_their_largest_whole_unit() {
    assert_eq!("36h".parse::<Lifetime>().unwrap().hours(), 36);
    assert_eq!("3d".parse::<Lifetime>().unwrap().to_string(), "3d");
    assert_eq!("2 days".parse::<Lifetime>().unwrap().to_string(), "2d");
    assert_eq!("14d".parse::<Lifetime>().unwrap().to_string(), "2w");
    assert_eq!("48H".parse::<Lifetime>().unwrap().to_string(), "2d");
    for bad in [
        "",
        "0d",
        "3",
        "d3",
        "-1d",
        "3 months",
        "400d",
        "99999999999w",
    ] {
        let err = bad.parse::<Lifetime>().unwrap_err();
        assert!(
            err.to_string().contains("e.g. 36h, 3d or 1w"),
            "{bad}: {err}"
        );
    }
}

#[test]
fn the_model_gives_a_lifetime_a_date_a_weekday_or_nothing() {
    assert_eq!(
        ExpiryRequest::from_model_json(&object(json!({"expires_in": "2d", "expires_at": null})))
            .unwrap(),
        Some(ExpiryRequest::For {
            lifetime: "2d".parse().unwrap()
        })
    );
    assert_eq!(
        ExpiryRequest::from_model_json(&object(json!({"expires_at": "2026-12-04"}))).unwrap(),
        Some(ExpiryRequest::Through {
            day: NaiveDate::from_ymd_opt(2026, 12, 4).unwrap()
        })
    );
    assert_eq!(
        ExpiryRequest::from_model_json(&object(json!({"expires_at": "Friday"}))).unwrap(),
        Some(ExpiryRequest::ThroughWeekday {
            weekday: Weekday::Fri
        })
    );
    assert_eq!(
        ExpiryRequest::from_model_json(&object(json!({}))).unwrap(),
        None
    );
}

#[test]
fn a_bad_model_value_is_named_with_what_is_allowed() {
    let err =
        ExpiryRequest::from_model_json(&object(json!({"expires_in": "forever"}))).unwrap_err();
    assert_eq!(err.field, "expires_in");
    assert!(err.message.contains("3d"), "{err}");
    let err =
        ExpiryRequest::from_model_json(&object(json!({"expires_at": "soonish"}))).unwrap_err();
    assert_eq!(err.field, "expires_at");
    assert!(err.message.contains("YYYY-MM-DD"), "{err}");
    let err = ExpiryRequest::from_model_json(&object(json!({"expires_in": 3}))).unwrap_err();
    assert!(err.message.contains("string"), "{err}");
    let err = ExpiryRequest::from_model_json(&object(
        json!({"expires_in": "1d", "expires_at": "friday"}),
    ))
    .unwrap_err();
    assert!(err.message.contains("not both"), "{err}");
    // The draft reader reports it with the other problems.
    let errors =
        DeploymentDraft::from_json(&json!({"vm_count": "x", "expires_in": "ever"})).unwrap_err();
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["vm_count", "expires_in"], "{errors}");
}

#[test]
fn dates_end_at_the_end_of_their_day_and_lifetimes_count_from_the_apply() {
    // A Wednesday.
    let planned = Utc.with_ymd_and_hms(2026, 12, 2, 10, 0, 0).unwrap();
    let applied = Utc.with_ymd_and_hms(2026, 12, 3, 9, 0, 0).unwrap();
    let friday = ExpiryRequest::ThroughWeekday {
        weekday: Weekday::Fri,
    };
    assert_eq!(
        friday.date(planned, applied),
        Utc.with_ymd_and_hms(2026, 12, 5, 0, 0, 0).unwrap()
    );
    let two_days = ExpiryRequest::For {
        lifetime: "2d".parse().unwrap(),
    };
    assert_eq!(
        two_days.date(planned, applied),
        Utc.with_ymd_and_hms(2026, 12, 5, 9, 0, 0).unwrap()
    );
}

#[test]
fn the_repository_maximum_and_the_past_are_refused() {
    let now = Utc.with_ymd_and_hms(2026, 12, 2, 10, 0, 0).unwrap();
    let max: Lifetime = "7d".parse().unwrap();
    let week = ExpiryRequest::For {
        lifetime: "1w".parse().unwrap(),
    };
    assert!(week.check(now, Some(max)).is_ok());
    let long = ExpiryRequest::For {
        lifetime: "10d".parse().unwrap(),
    };
    let err = long.check(now, Some(max)).unwrap_err();
    assert_eq!(err.field, "expires_in");
    assert!(err.message.contains("max_lifetime: 1w"), "{err}");
    assert!(long.check(now, None).is_ok());
    let far = ExpiryRequest::Through {
        day: NaiveDate::from_ymd_opt(2027, 1, 30).unwrap(),
    };
    assert_eq!(far.check(now, Some(max)).unwrap_err().field, "expires_at");
    let past = ExpiryRequest::Through {
        day: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
    };
    assert!(past.check(now, None).unwrap_err().message.contains("past"));
}

#[test]
fn the_stored_form_round_trips() {
    for request in [
        ExpiryRequest::For {
            lifetime: "36h".parse().unwrap(),
        },
        ExpiryRequest::ThroughWeekday {
            weekday: Weekday::Mon,
        },
        ExpiryRequest::ThroughMonthDay { month: 12, day: 20 },
        ExpiryRequest::ThroughDaysAhead { days: 1 },
    ] {
        let text = serde_json::to_string(&request).unwrap();
        assert_eq!(
            serde_json::from_str::<ExpiryRequest>(&text).unwrap(),
            request
        );
    }
}

#[test]
fn a_day_of_the_year_ends_at_its_next_occurrence() {
    let planned = Utc.with_ymd_and_hms(2026, 12, 4, 10, 0, 0).unwrap();
    let end = |month, day| {
        ExpiryRequest::through_month_day(month, day)
            .unwrap()
            .date(planned, planned)
    };
    assert_eq!(
        end(12, 20),
        Utc.with_ymd_and_hms(2026, 12, 21, 0, 0, 0).unwrap()
    );
    // Today counts, as a weekday's today does.
    assert_eq!(
        end(12, 4),
        Utc.with_ymd_and_hms(2026, 12, 5, 0, 0, 0).unwrap()
    );
    assert_eq!(
        end(1, 5),
        Utc.with_ymd_and_hms(2027, 1, 6, 0, 0, 0).unwrap()
    );
    assert_eq!(
        end(2, 29),
        Utc.with_ymd_and_hms(2028, 3, 1, 0, 0, 0).unwrap()
    );
    assert_eq!(ExpiryRequest::through_month_day(2, 30), None);
    assert_eq!(ExpiryRequest::through_month_day(13, 1), None);
    assert_eq!(
        ExpiryRequest::through_month_day(12, 20)
            .unwrap()
            .to_string(),
        "through December 20 (UTC)"
    );
}

#[test]
fn today_and_tomorrow_end_with_the_day_after_planning() {
    let planned = Utc.with_ymd_and_hms(2026, 12, 4, 22, 0, 0).unwrap();
    let applied = Utc.with_ymd_and_hms(2026, 12, 5, 9, 0, 0).unwrap();
    let tomorrow = ExpiryRequest::ThroughDaysAhead { days: 1 };
    assert_eq!(
        tomorrow.date(planned, applied),
        Utc.with_ymd_and_hms(2026, 12, 6, 0, 0, 0).unwrap()
    );
    assert_eq!(
        tomorrow.to_string(),
        "through the day after it is planned (UTC)"
    );
    // Applied after "today" ended: the date lies before the apply, as a weekday's or a
    // date's can.
    let today = ExpiryRequest::ThroughDaysAhead { days: 0 };
    assert!(today.date(planned, applied) < applied);
}

//! The HTTP front door: the router (webhooks, health, readiness, metrics), the webhook
//! extractor with its body budget, the listener's connection limits, and the metrics.

pub(crate) mod body_budget;
pub mod listener;
pub mod metrics;
pub mod router;
pub(crate) mod webhook;

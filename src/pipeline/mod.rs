//! From a delivery to a finished job: ingress turns events into jobs (stored with the
//! delivery), the worker pool claims and runs them, the heartbeat keeps their leases,
//! housekeeping prunes what would otherwise only grow.

pub mod check_ingress;
pub mod heartbeat;
pub mod housekeeping;
pub mod ingress;
pub mod jobs;
pub mod worker;

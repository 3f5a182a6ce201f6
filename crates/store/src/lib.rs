//! Durable store: deliveries, job queue with leases and backoff, runs, locks, requests. SQLite and PostgreSQL.

-- Each running service process registers itself and heartbeats, so that the jobs of a
-- process known to be gone (heartbeat stale, or replaced on the same host) are taken over
-- without waiting for their leases to run out. Worker ids are "<process id>/<n>".
CREATE TABLE processes (
    id           TEXT PRIMARY KEY,
    host         TEXT NOT NULL,
    pid          BIGINT NOT NULL,
    started_at   BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL
);

-- One row, rewritten by the readiness probe: a commit that proves the store can write.
CREATE TABLE write_probe (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    at BIGINT NOT NULL
);

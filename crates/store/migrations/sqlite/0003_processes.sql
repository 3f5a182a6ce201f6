-- Each running service process registers itself and heartbeats, so that the jobs of a
-- process known to be gone (heartbeat stale, or replaced on the same host) are taken over
-- without waiting for their leases to run out. Worker ids are "<process id>/<n>".
CREATE TABLE processes (
    id           TEXT PRIMARY KEY NOT NULL,
    host         TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    started_at   INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
) WITHOUT ROWID;

-- One row, rewritten by the readiness probe: a commit that proves the store can write.
CREATE TABLE write_probe (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    at INTEGER NOT NULL
);

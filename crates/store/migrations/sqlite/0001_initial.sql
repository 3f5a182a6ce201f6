-- Timestamps are microseconds since the Unix epoch (UTC) in INTEGER columns: SQLite has no
-- time type, and integers compare and index correctly, which text timestamps do not when
-- their fractional digits vary. The PostgreSQL schema uses the same representation so that
-- both backends run the same statements.

CREATE TABLE deliveries (
    delivery_id TEXT PRIMARY KEY NOT NULL,
    event       TEXT NOT NULL,
    action      TEXT,
    received_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL,
    repo         TEXT NOT NULL,
    dedupe_key   TEXT,
    payload      TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'queued'
                 CHECK (status IN ('queued', 'running', 'done', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    run_after    INTEGER NOT NULL,
    locked_by    TEXT,
    locked_until INTEGER,
    last_error   TEXT,
    created_at   INTEGER NOT NULL,
    finished_at  INTEGER
);

-- At most one live (queued or running) job per dedupe key; finished jobs do not block a new one.
CREATE UNIQUE INDEX jobs_live_dedupe_key ON jobs (dedupe_key)
    WHERE dedupe_key IS NOT NULL AND status IN ('queued', 'running');
-- Claiming: the oldest due queued job, and running jobs whose lease has run out.
CREATE INDEX jobs_queued_due ON jobs (run_after, id) WHERE status = 'queued';
CREATE INDEX jobs_running_lease ON jobs (locked_until) WHERE status = 'running';

CREATE TABLE requests (
    repo       TEXT NOT NULL,
    issue      INTEGER NOT NULL,
    deployment TEXT NOT NULL,
    branch     TEXT NOT NULL,
    pr         INTEGER,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (repo, issue)
);
CREATE INDEX requests_by_pr ON requests (repo, pr);

CREATE TABLE runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    repo        TEXT NOT NULL,
    pr          INTEGER,
    deployment  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    sha         TEXT,
    status      TEXT NOT NULL,
    summary     TEXT,
    output      TEXT,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE INDEX runs_by_deployment ON runs (repo, deployment, id);

CREATE TABLE locks (
    repo       TEXT NOT NULL,
    deployment TEXT NOT NULL,
    pr         INTEGER NOT NULL,
    since      INTEGER NOT NULL,
    PRIMARY KEY (repo, deployment)
);

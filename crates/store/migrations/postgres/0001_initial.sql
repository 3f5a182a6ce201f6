-- Timestamps are microseconds since the Unix epoch (UTC) in BIGINT columns, the same
-- representation as the SQLite schema, so that both backends run the same statements.
-- (to_timestamp(col / 1e6) turns one into a timestamptz when reading by hand.)

CREATE TABLE deliveries (
    delivery_id TEXT PRIMARY KEY,
    event       TEXT NOT NULL,
    action      TEXT,
    received_at BIGINT NOT NULL
);

CREATE TABLE jobs (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         TEXT NOT NULL,
    repo         TEXT NOT NULL,
    dedupe_key   TEXT,
    payload      JSONB NOT NULL,
    status       TEXT NOT NULL DEFAULT 'queued'
                 CHECK (status IN ('queued', 'running', 'done', 'failed')),
    attempts     BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL,
    run_after    BIGINT NOT NULL,
    locked_by    TEXT,
    locked_until BIGINT,
    last_error   TEXT,
    created_at   BIGINT NOT NULL,
    finished_at  BIGINT
);

-- At most one live (queued or running) job per dedupe key; finished jobs do not block a new one.
CREATE UNIQUE INDEX jobs_live_dedupe_key ON jobs (dedupe_key)
    WHERE dedupe_key IS NOT NULL AND status IN ('queued', 'running');
-- Claiming: the oldest due queued job, and running jobs whose lease has run out.
CREATE INDEX jobs_queued_due ON jobs (run_after, id) WHERE status = 'queued';
CREATE INDEX jobs_running_lease ON jobs (locked_until) WHERE status = 'running';

CREATE TABLE requests (
    repo       TEXT NOT NULL,
    issue      BIGINT NOT NULL,
    deployment TEXT NOT NULL,
    branch     TEXT NOT NULL,
    pr         BIGINT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (repo, issue)
);
CREATE INDEX requests_by_pr ON requests (repo, pr);

CREATE TABLE runs (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    repo        TEXT NOT NULL,
    pr          BIGINT,
    deployment  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    sha         TEXT,
    status      TEXT NOT NULL,
    summary     TEXT,
    output      TEXT,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX runs_by_deployment ON runs (repo, deployment, id);

CREATE TABLE locks (
    repo       TEXT NOT NULL,
    deployment TEXT NOT NULL,
    pr         BIGINT NOT NULL,
    since      BIGINT NOT NULL,
    PRIMARY KEY (repo, deployment)
);

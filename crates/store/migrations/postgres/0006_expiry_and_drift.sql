-- Deployments that expire. `requested` is what the request asked for (the planner's
-- value as JSON, recorded when the pull request is opened); `expires_at` is the date,
-- set when the deployment is applied and moved by `/promptops extend`; `warned_at` and
-- `destroy_pr` record what the bot did about it. The date lives here, not in the tfvars:
-- it is an operating schedule, not infrastructure, and moving it must not need a plan.
CREATE TABLE expiries (
    repo        TEXT NOT NULL,
    deployment  TEXT NOT NULL,
    issue       BIGINT NOT NULL,
    requested   TEXT NOT NULL,
    planned_at  BIGINT NOT NULL,
    expires_at  BIGINT,
    warned_at   BIGINT,
    destroy_pr  BIGINT,
    PRIMARY KEY (repo, deployment)
);

-- The last drift check of each deployment: when, what it found (no_drift, drift, error)
-- and the issue that reports the drift (kept after it is closed, and reopened on new drift).
CREATE TABLE drift_checks (
    repo        TEXT NOT NULL,
    deployment  TEXT NOT NULL,
    checked_at  BIGINT NOT NULL,
    result      TEXT NOT NULL,
    summary     TEXT NOT NULL,
    issue       BIGINT,
    PRIMARY KEY (repo, deployment)
);

-- When each repository's next scheduled drift check is due. A check claims its slot by
-- moving `next_at` forward in one statement, so that it runs once across replicas.
CREATE TABLE drift_schedules (
    repo    TEXT PRIMARY KEY NOT NULL,
    next_at BIGINT NOT NULL
);

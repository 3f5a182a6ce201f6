-- The id of each comment the App wrote, by the key its hidden marker carries, so that an
-- update is one PATCH instead of listing every comment of the issue to find it.
CREATE TABLE comment_ids (
    repo       TEXT NOT NULL,
    issue      INTEGER NOT NULL,
    key        TEXT NOT NULL,
    comment_id INTEGER NOT NULL,
    PRIMARY KEY (repo, issue, key)
) WITHOUT ROWID;

-- The commits the App made itself (a file written or removed through the contents API, a
-- pull request it merged), by the SHA GitHub answered with. GitHub attributes a commit to
-- an account by its e-mail, which whoever pushes chooses, so a commit listed under the
-- App's login is taken for the App's own only when its SHA is here. `made_at` is when it
-- was recorded.
CREATE TABLE app_commits (
    repo    TEXT NOT NULL,
    sha     TEXT NOT NULL,
    made_at INTEGER NOT NULL,
    PRIMARY KEY (repo, sha)
) WITHOUT ROWID;

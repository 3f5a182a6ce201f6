-- What a request asked for and the terraform.tfvars the bot committed for it, as last
-- planned: the dashboard's deployment page shows them (GPU type and count, region, cost)
-- without reading the repository.
CREATE TABLE request_details (
    repo    TEXT NOT NULL,
    issue   BIGINT NOT NULL,
    prompt  TEXT NOT NULL,
    tfvars  TEXT NOT NULL,
    PRIMARY KEY (repo, issue)
);

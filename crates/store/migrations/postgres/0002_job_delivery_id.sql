-- The webhook delivery whose processing enqueued a job (GitHub's X-GitHub-Delivery id), so
-- that a job's logs can be traced back to the delivery. NULL for jobs enqueued otherwise.
-- No foreign key: deliveries may be pruned independently, and the insert path stays cheap.
-- A nullable column without a default is added without rewriting the table.
ALTER TABLE jobs ADD COLUMN delivery_id TEXT;

-- The webhook delivery whose processing enqueued a job (GitHub's X-GitHub-Delivery id), so
-- that a job's logs can be traced back to the delivery. NULL for jobs enqueued otherwise.
-- No foreign key: deliveries may be pruned independently, and the insert path stays cheap.
ALTER TABLE jobs ADD COLUMN delivery_id TEXT;

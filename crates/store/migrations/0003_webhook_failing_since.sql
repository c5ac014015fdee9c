-- When the webhook's current run of failed attempts began: set by the first failed attempt after
-- a success, cleared by the next success (and when the webhook is re-enabled or pointed at a new
-- URL). A webhook failing for longer than BUNTING_WEBHOOK_DISABLE_AFTER is disabled.
ALTER TABLE webhooks ADD COLUMN failing_since BIGINT;

-- Webhooks and their durable delivery log. The same statements serve SQLite and PostgreSQL.
-- Booleans are BIGINT 0/1 and times Unix microseconds, as in the first migration, so that both
-- backends read them back the same way through one code path.

-- Webhook ids come from the counters row like every other id, under the same lock.
ALTER TABLE id_counters ADD COLUMN webhook_id BIGINT NOT NULL DEFAULT 0;

CREATE TABLE webhooks (
    id BIGINT PRIMARY KEY,
    environment_id BIGINT NOT NULL REFERENCES environments (id),
    url TEXT NOT NULL,
    description TEXT NOT NULL,
    -- JSON array of subscription patterns ("flag.*", "segment.created", "*").
    events TEXT NOT NULL,
    enabled BIGINT NOT NULL,
    timeout_seconds BIGINT NOT NULL,
    -- Write-only: never returned by the API, never written to the change log.
    secret TEXT,
    -- A rotated-out secret keeps signing until previous_secret_expires_at.
    previous_secret TEXT,
    previous_secret_expires_at BIGINT,
    -- Why Bunting disabled the webhook itself (410 Gone); NULL otherwise.
    disabled_reason TEXT,
    -- 'bunting' or Flagr's legacy notification ('flagr_notification', '..._detailed').
    format TEXT NOT NULL,
    -- JSON array of [name, value] pairs sent with every request.
    headers TEXT NOT NULL,
    -- 1 for the webhook FLAGR_NOTIFICATION_WEBHOOK_* configures; the API cannot change it.
    managed_by_config BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- The body of each event, built once and shared by every webhook that receives it: a change
-- fanned out to ten webhooks writes its payload once, not ten times.
CREATE TABLE webhook_messages (
    -- The event id inside the body (a UUID; for Flagr's notification format, which has none in
    -- its body, a UUID of its own).
    id TEXT PRIMARY KEY,
    -- The exact body, sent byte for byte on every attempt to every webhook.
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- One row per (webhook, event): written in the transaction of the change that caused it, so a
-- committed change always has its deliveries and a rolled-back one never does. The row is the
-- queue: the dispatcher claims due rows with a lease and records every attempt.
CREATE TABLE webhook_deliveries (
    -- A UUID; sent as X-Flagr-Delivery and webhook-id, the same on every attempt.
    id TEXT PRIMARY KEY,
    webhook_id BIGINT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event TEXT NOT NULL,
    -- The event id inside the body; NULL for the legacy notification format, which has none.
    event_id TEXT,
    -- The change that caused it; NULL for test deliveries.
    change_seq BIGINT,
    flag_id BIGINT,
    flag_key TEXT,
    message_id TEXT NOT NULL REFERENCES webhook_messages (id),
    -- 'pending', 'delivered' or 'failed'.
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    -- A manual redelivery allows exactly one more attempt; NULL means the retry schedule decides.
    attempt_limit BIGINT,
    -- When the next attempt is due; NULL once the delivery is finished. A claim moves it to the
    -- end of the claim's lease, so a delivery whose sender crashed becomes due again by itself.
    next_attempt_at BIGINT,
    -- Set while a dispatcher is sending it (the end of its lease); NULL otherwise.
    leased_until BIGINT,
    created_at BIGINT NOT NULL,
    finished_at BIGINT,
    -- The last attempt's outcome, kept here so that listing deliveries needs no join.
    last_status_code BIGINT,
    last_error_class TEXT
);
-- The dispatcher asks each webhook for its earliest due delivery and claims in that order.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (webhook_id, next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, created_at);
CREATE INDEX webhook_deliveries_by_age ON webhook_deliveries (created_at);
CREATE INDEX webhook_deliveries_by_message ON webhook_deliveries (message_id);

-- Every attempt of every delivery: what was sent and what came back.
CREATE TABLE webhook_attempts (
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    number BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    duration_micros BIGINT NOT NULL,
    status_code BIGINT,
    -- dns, connect, tls, timeout, http_status or blocked; NULL on success.
    error_class TEXT,
    error TEXT,
    -- The first 4 KiB of the response body; never stored for a blocked destination.
    response_body TEXT,
    -- JSON object of the headers sent: signatures yes, secrets never.
    request_headers TEXT NOT NULL,
    -- When the attempt after this one was scheduled; NULL when there is none.
    next_attempt_at BIGINT,
    PRIMARY KEY (delivery_id, number)
);

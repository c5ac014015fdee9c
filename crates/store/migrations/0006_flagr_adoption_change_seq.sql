-- The last change event the adoption wrote: later flag changes are Bunting's own, which
-- `bunting import --from-flagr-db` will not replace without --force. An adoption recorded
-- before this column existed wrote the events that happened before it.
ALTER TABLE flagr_adoption ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
UPDATE flagr_adoption SET change_seq = COALESCE(
    (SELECT MAX(seq) FROM change_events WHERE occurred_at <= flagr_adoption.adopted_at), 0);

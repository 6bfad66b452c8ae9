-- Up Migration

-- The status loop: outcome events move a channel past `published`. The states are
-- listed in rank order in src/domain/order-status.ts; a channel only moves up.
ALTER TABLE notification_states DROP CONSTRAINT notification_states_state_check;
ALTER TABLE notification_states ADD CONSTRAINT notification_states_state_check
  CHECK (state IN ('pending', 'published', 'retrying', 'failed', 'dead_lettered', 'succeeded'));

-- Every change to a channel is announced on `<schema>_order_changes` with the order id,
-- at commit, whoever made it (relay, outcome consumer, replay), so each API replica
-- can push it to the clients following that order (GET /orders/:id/events).
CREATE FUNCTION notify_order_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify(TG_TABLE_SCHEMA || '_order_changes', NEW.order_id::text);
  RETURN NULL;
END
$$;

CREATE TRIGGER notification_states_changed
  AFTER UPDATE ON notification_states
  FOR EACH ROW
  WHEN (OLD.state IS DISTINCT FROM NEW.state
        OR OLD.attempts IS DISTINCT FROM NEW.attempts
        OR OLD.details IS DISTINCT FROM NEW.details)
  EXECUTE FUNCTION notify_order_change();

-- Down Migration
DROP TRIGGER notification_states_changed ON notification_states;
DROP FUNCTION notify_order_change();
UPDATE notification_states SET state = 'published' WHERE state NOT IN ('pending', 'published');
ALTER TABLE notification_states DROP CONSTRAINT notification_states_state_check;
ALTER TABLE notification_states ADD CONSTRAINT notification_states_state_check
  CHECK (state IN ('pending', 'published'));

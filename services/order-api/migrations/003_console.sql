-- Up Migration

-- The operator console lists recent orders newest first and finds them by id,
-- reference or customer email. Each of these is answered from an index and a LIMIT,
-- never from a scan of the table.
CREATE INDEX orders_placed_at ON orders (placed_at DESC, id DESC);
-- Prefix searches (LIKE 'abc%') need the pattern operator class under any collation.
CREATE INDEX orders_reference_prefix ON orders (reference text_pattern_ops);
CREATE INDEX orders_customer_email ON orders (lower(customer->>'email') text_pattern_ops);

-- New orders are announced on the same channel as changed ones, so the console's live
-- list shows an order while it still waits in the outbox. One notification per insert
-- statement (the API writes orders in batches), with at most 100 ids in each, stays far
-- below NOTIFY's 8000-byte payload limit; `new:` tells these apart from the per-row
-- order ids that GET /orders/:id/events follows.
CREATE FUNCTION notify_new_orders() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify(TG_TABLE_SCHEMA || '_order_changes', 'new:' || string_agg(id::text, ','))
  FROM (SELECT id, (row_number() OVER () - 1) / 100 AS chunk FROM inserted) numbered
  GROUP BY chunk;
  RETURN NULL;
END
$$;

CREATE TRIGGER orders_inserted
  AFTER INSERT ON orders
  REFERENCING NEW TABLE AS inserted
  FOR EACH STATEMENT
  EXECUTE FUNCTION notify_new_orders();

-- Down Migration
DROP TRIGGER orders_inserted ON orders;
DROP FUNCTION notify_new_orders();
DROP INDEX orders_customer_email;
DROP INDEX orders_reference_prefix;
DROP INDEX orders_placed_at;

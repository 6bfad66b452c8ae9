-- Up Migration

-- Orders are immutable documents once accepted: items are kept as JSONB next to the
-- order (one row per order, one write), with the totals the server computed.
CREATE TABLE orders (
  id               uuid PRIMARY KEY,
  reference        text NOT NULL,
  currency         char(3) NOT NULL,
  customer         jsonb NOT NULL,
  items            jsonb NOT NULL,
  item_count       integer NOT NULL CHECK (item_count > 0),
  shipping_address jsonb NOT NULL,
  billing_address  jsonb NOT NULL,
  metadata         jsonb NOT NULL DEFAULT '{}'::jsonb,
  subtotal         bigint NOT NULL CHECK (subtotal >= 0),
  shipping         bigint NOT NULL CHECK (shipping >= 0),
  total            bigint NOT NULL CHECK (total >= 0),
  placed_at        timestamptz NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX orders_reference_key ON orders (reference);

-- A client's Idempotency-Key, scoped per client (API key or anonymous), with the
-- response it produced so a retry gets the very same answer.
CREATE TABLE idempotency_keys (
  client        text NOT NULL,
  key           text NOT NULL,
  request_hash  text NOT NULL,
  order_id      uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  status_code   smallint NOT NULL,
  response      jsonb NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (client, key)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);

-- Transactional outbox: one row per message, written with the order. The relay
-- publishes a row and sets published_at only after the broker confirmed it.
CREATE TABLE outbox (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  message_id      text NOT NULL UNIQUE,
  order_id        uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  channel         text NOT NULL,
  contract_type   text NOT NULL,
  routing_key     text NOT NULL,
  payload         jsonb NOT NULL,
  headers         jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at      timestamptz NOT NULL DEFAULT now(),
  published_at    timestamptz,
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_error      text
);
-- Only unpublished rows are ever scanned by the relay; the index stays small however
-- large the table grows.
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
CREATE INDEX outbox_order ON outbox (order_id);

-- Where each of an order's five notifications stands. The state list is one named
-- constraint so later states (succeeded, retrying, failed, dead_lettered) are added by
-- replacing it; attempts, details and updated_at are already here for them.
CREATE TABLE notification_states (
  order_id     uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  channel      text NOT NULL,
  message_id   text NOT NULL,
  state        text NOT NULL DEFAULT 'pending',
  attempts     integer NOT NULL DEFAULT 0,
  details      jsonb NOT NULL DEFAULT '{}'::jsonb,
  published_at timestamptz,
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (order_id, channel),
  CONSTRAINT notification_states_channel_check
    CHECK (channel IN ('email', 'whatsapp', 'logistic', 'payment', 'fraud')),
  CONSTRAINT notification_states_state_check CHECK (state IN ('pending', 'published'))
);

-- Down Migration
DROP TABLE notification_states;
DROP TABLE outbox;
DROP TABLE idempotency_keys;
DROP TABLE orders;

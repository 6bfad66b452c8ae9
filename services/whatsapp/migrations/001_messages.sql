-- Up Migration
-- One WhatsApp message per order: the order id is the idempotency key of the send.
CREATE TABLE messages (
  order_id uuid PRIMARY KEY,
  -- AMQP message id of the notification whose delivery sent it.
  message_id text NOT NULL,
  to_number text NOT NULL,
  message_sid text NOT NULL UNIQUE,
  -- What Twilio answered the create with, published in every whatsapp.sent event.
  accepted_status text NOT NULL,
  accepted_at timestamptz NOT NULL,
  -- Current delivery status; only ever moves forward (see whatsapp-status.ts).
  status text NOT NULL,
  error_code integer,
  updated_at timestamptz NOT NULL
);
CREATE INDEX messages_message_id ON messages (message_id);

-- Every status a message went through, once each, as first reported.
CREATE TABLE status_history (
  order_id uuid NOT NULL REFERENCES messages (order_id),
  status text NOT NULL,
  error_code integer,
  occurred_at timestamptz NOT NULL,
  source text NOT NULL CHECK (source IN ('api', 'callback')),
  -- Arrival order, which is not occurred_at order when callbacks were parked.
  seq bigint GENERATED ALWAYS AS IDENTITY,
  PRIMARY KEY (order_id, status)
);

-- Callbacks that arrived before the send that created their message committed.
CREATE TABLE unmatched_statuses (
  message_sid text NOT NULL,
  status text NOT NULL,
  error_code integer,
  received_at timestamptz NOT NULL,
  PRIMARY KEY (message_sid, status)
);

-- Down Migration
DROP TABLE unmatched_statuses;
DROP TABLE status_history;
DROP TABLE messages;

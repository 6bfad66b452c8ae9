-- Up Migration

-- One row per call to the gateway. It is written before the call ('pending') and
-- completed after it, so a process that died in between leaves a visible trace.
CREATE TABLE attempts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  order_id uuid NOT NULL,
  attempt_no integer NOT NULL CHECK (attempt_no >= 1),
  message_id text NOT NULL,
  delivery_attempt integer NOT NULL,
  redelivered boolean NOT NULL,
  gateway text NOT NULL,
  outcome text NOT NULL DEFAULT 'pending' CHECK (outcome IN ('pending', 'authorized', 'declined', 'error')),
  authorization_id text,
  decline_code text,
  error text,
  transient boolean,
  latency_ms integer CHECK (latency_ms >= 0),
  started_at timestamptz NOT NULL,
  finished_at timestamptz,
  UNIQUE (order_id, attempt_no)
);

-- The final result per order: the service's idempotency record, written in the same
-- transaction as the attempt that produced it.
CREATE TABLE payments (
  order_id uuid PRIMARY KEY,
  status text NOT NULL CHECK (status IN ('authorized', 'declined')),
  authorization_id text,
  decline_code text,
  decline_reason text,
  amount bigint NOT NULL CHECK (amount >= 0),
  currency char(3) NOT NULL,
  gateway text NOT NULL,
  attempts integer NOT NULL,
  message_id text NOT NULL,
  decided_at timestamptz NOT NULL,
  CHECK ((status = 'authorized') = (authorization_id IS NOT NULL)),
  CHECK ((status = 'declined') = (decline_code IS NOT NULL AND decline_reason IS NOT NULL))
);

-- Down Migration
DROP TABLE payments;
DROP TABLE attempts;

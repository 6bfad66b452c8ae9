-- Up Migration

-- One assessment per order: the unique key that makes a redelivered message a no-op,
-- and the stored outcome a redelivery re-publishes.
CREATE TABLE assessments (
  order_id uuid PRIMARY KEY,
  message_id text NOT NULL,
  score smallint NOT NULL CHECK (score BETWEEN 0 AND 100),
  decision text NOT NULL CHECK (decision IN ('approve', 'review', 'reject')),
  rules jsonb NOT NULL,
  -- The history counts the score was computed from, so a decision can be explained later.
  history jsonb NOT NULL,
  rules_version text NOT NULL,
  amount bigint NOT NULL CHECK (amount >= 0),
  currency char(3) NOT NULL,
  assessed_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX assessments_decision_assessed_at ON assessments (decision, assessed_at);

-- What later orders are compared against for velocity. The keys are SHA-256 digests of
-- the normalised email, phone and IP: velocity only needs equality, and the table then
-- holds no contact data in the clear (pseudonymised, not anonymous: the order id links back).
CREATE TABLE observations (
  order_id uuid PRIMARY KEY REFERENCES assessments (order_id) ON DELETE CASCADE,
  placed_at timestamptz NOT NULL,
  email_hash bytea NOT NULL,
  phone_hash bytea NOT NULL,
  ip_hash bytea,
  observed_at timestamptz NOT NULL DEFAULT now()
);

-- The window queries: equality on one key, range on placed_at.
CREATE INDEX observations_email_window ON observations (email_hash, placed_at);
CREATE INDEX observations_phone_window ON observations (phone_hash, placed_at);
CREATE INDEX observations_ip_window ON observations (ip_hash, placed_at) WHERE ip_hash IS NOT NULL;

-- Down Migration
DROP TABLE observations;
DROP TABLE assessments;

-- Up Migration

-- Belongs to the simulated card processor (src/adapters/simulated-payment-gateway.ts),
-- not to the payment service: it stands for the records a real processor keeps on its
-- side. Only the simulator's ledger adapter reads or writes it.
CREATE TABLE simulated_processor_ledger (
  idempotency_key text PRIMARY KEY,
  amount bigint NOT NULL,
  currency char(3) NOT NULL,
  token_fingerprint text NOT NULL,
  calls integer NOT NULL DEFAULT 1,
  status text CHECK (status IN ('authorized', 'declined')),
  authorization_id text UNIQUE,
  decline_code text,
  decline_reason text,
  first_call_at timestamptz NOT NULL,
  last_call_at timestamptz NOT NULL,
  settled_at timestamptz
);

-- Down Migration
DROP TABLE simulated_processor_ledger;

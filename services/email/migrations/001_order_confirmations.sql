-- Up Migration

-- One row per order: the order confirmation is sent at most once per order, whatever
-- the number of deliveries. `sending` is a claim taken before the SMTP call; its lease
-- lets another worker take over when the claimant died without recording a result.
-- `deferred` (transient failure) and `failed` (permanent) sent nothing and may be
-- claimed again; `sent` is final.
CREATE TABLE order_confirmations (
  order_id uuid PRIMARY KEY,
  status text NOT NULL CHECK (status IN ('sending', 'sent', 'deferred', 'failed')),
  -- AMQP message id of the delivery that made the latest claim.
  delivery_message_id text NOT NULL,
  recipient text NOT NULL,
  locale text NOT NULL,
  -- The Message-ID header; derived from the order id, so every attempt uses the same one.
  smtp_message_id text NOT NULL,
  -- The SMTP server's final reply: `250 ... queued as ...`, or the rejection.
  smtp_response text,
  -- Why the latest attempt did not send (deferred or failed).
  failure_reason text,
  attempts integer NOT NULL DEFAULT 1 CHECK (attempts >= 1),
  claim_token uuid,
  lease_until timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  sent_at timestamptz,
  failed_at timestamptz,
  CHECK (status <> 'sending' OR (claim_token IS NOT NULL AND lease_until IS NOT NULL)),
  CHECK (status <> 'sent' OR sent_at IS NOT NULL),
  CHECK (status <> 'failed' OR failed_at IS NOT NULL)
);

-- Operators look for stuck claims and failures.
CREATE INDEX order_confirmations_status_idx ON order_confirmations (status) WHERE status <> 'sent';

-- Down Migration

DROP TABLE order_confirmations;

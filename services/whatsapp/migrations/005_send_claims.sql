-- Up Migration

-- A delivery's claim on sending an order's message, taken in a short transaction before
-- the call to Twilio (no transaction stays open across the call). While its lease holds,
-- every other delivery of the order finds it busy; a claim whose holder died without a
-- result expires and may be taken over. The row goes away when the message is recorded
-- in `messages` (same transaction) or when the holder gives the claim up having sent
-- nothing (a transient failure, a refusal, an opt-out), so it only exists while a send is
-- in flight or was left by a worker that died.
CREATE TABLE send_claims (
  order_id uuid PRIMARY KEY,
  -- AMQP message id of the delivery that holds the claim.
  message_id text NOT NULL,
  claim_token uuid NOT NULL,
  lease_until timestamptz NOT NULL,
  -- How often an expired claim was taken over: each is a possible second message.
  takeovers integer NOT NULL DEFAULT 0 CHECK (takeovers >= 0),
  claimed_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE send_claims;

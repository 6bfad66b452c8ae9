-- Up Migration

-- Tracking serials come from a sequence: no lock is held between concurrent shipments,
-- and a serial taken by a transaction that rolls back leaves a harmless gap.
CREATE SEQUENCE tracking_serial AS bigint START WITH 1;

CREATE TABLE shipments (
  id uuid PRIMARY KEY,
  order_id uuid NOT NULL UNIQUE,
  carrier_id text NOT NULL,
  carrier_name text NOT NULL,
  service_level text NOT NULL,
  zone text NOT NULL,
  destination_country char(2) NOT NULL,
  total_weight_grams integer NOT NULL CHECK (total_weight_grams >= 0),
  tracking_number text NOT NULL UNIQUE,
  estimated_delivery date NOT NULL,
  created_at timestamptz NOT NULL
);

-- Messages whose effect is stored, written in the same transaction as the shipment.
CREATE TABLE inbox (
  message_id text PRIMARY KEY,
  order_id uuid NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now()
);

-- Orders found unshippable, for operators. Not a barrier: a replayed message is judged
-- again against the rules of the day, so fixing the rules and replaying the dead letter ships it.
CREATE TABLE shipment_rejections (
  order_id uuid PRIMARY KEY,
  code text NOT NULL,
  reason text NOT NULL,
  first_rejected_at timestamptz NOT NULL,
  last_rejected_at timestamptz NOT NULL,
  times integer NOT NULL DEFAULT 1
);

-- Down Migration
DROP TABLE shipment_rejections;
DROP TABLE inbox;
DROP TABLE shipments;
DROP SEQUENCE tracking_serial;

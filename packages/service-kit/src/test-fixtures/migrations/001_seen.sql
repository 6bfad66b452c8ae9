-- Up Migration
CREATE TABLE seen (message_id text PRIMARY KEY, order_id uuid NOT NULL, at timestamptz NOT NULL DEFAULT now());

-- Down Migration
DROP TABLE seen;

-- Up Migration

-- Dead letters and unroutable messages, moved out of the broker by the order API's
-- drains (src/dead-letters/): looking at them is a query that changes nothing, and a
-- replay publishes the stored copy again, then deletes the row. One row per queue and
-- message id, so a message parked twice (a crash between the commit and the broker's
-- ack) is kept once.
CREATE TABLE parked_letters (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  queue text NOT NULL,
  message_id text NOT NULL,
  exchange text NOT NULL,
  routing_key text NOT NULL,
  properties jsonb NOT NULL,
  headers jsonb NOT NULL,
  body bytea NOT NULL,
  reason text NOT NULL,
  detail text,
  dead_lettered_at timestamptz,
  first_death jsonb,
  attempts integer,
  replays integer NOT NULL DEFAULT 0,
  published_by text,
  parked_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  CONSTRAINT parked_letters_once UNIQUE (queue, message_id)
);
-- Pages of one queue's letters, oldest parked first.
CREATE INDEX parked_letters_queue_id ON parked_letters (queue, id);

-- Down Migration
DROP TABLE parked_letters;

-- Up Migration

-- This service's copy of customer preferences (the email opt-out only), kept from the
-- order API's customer.preferences messages; a message applies only when its version is
-- newer than the row's. Asked before every send.
CREATE TABLE customer_preferences (
  client       text NOT NULL,
  customer_key text NOT NULL,
  opted_out    boolean NOT NULL,
  version      bigint NOT NULL,
  updated_at   timestamptz NOT NULL,
  PRIMARY KEY (client, customer_key)
);

-- Down Migration
DROP TABLE customer_preferences;

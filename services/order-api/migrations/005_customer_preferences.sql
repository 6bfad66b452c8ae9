-- Up Migration

-- A customer's preferences, kept per API client and that client's key for the customer
-- (its customer reference, else the email address or phone number): a client reads and
-- sets only its own. `version` grows with every change; the email and whatsapp services
-- keep a copy from customer.preferences messages and apply only a newer version.
-- `published_version` is the last version the broker confirmed: a row where it lags is
-- published again until it does not (an outbox of one row per customer).
CREATE TABLE customer_preferences (
  client             text NOT NULL,
  customer_key       text NOT NULL,
  email_opted_out    boolean NOT NULL DEFAULT false,
  whatsapp_opted_out boolean NOT NULL DEFAULT false,
  source             text NOT NULL,
  version            bigint NOT NULL DEFAULT 1,
  published_version  bigint NOT NULL DEFAULT 0,
  updated_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (client, customer_key),
  CONSTRAINT customer_preferences_source_check CHECK (source IN ('api', 'unsubscribe-link'))
);
CREATE INDEX customer_preferences_unpublished ON customer_preferences (updated_at)
  WHERE published_version < version;

-- Down Migration
DROP TABLE customer_preferences;

-- Up Migration

-- Which way the order's message went: WhatsApp, or SMS when WhatsApp could not reach the
-- number (the Twilio error that made it fall back, in fallback_reason). Still one message
-- per order, so the fallback is sent once whatever the number of deliveries.
ALTER TABLE messages
  ADD COLUMN via text NOT NULL DEFAULT 'whatsapp' CHECK (via IN ('whatsapp', 'sms')),
  ADD COLUMN fallback_reason text CHECK (length(fallback_reason) <= 1000);

-- This service's copy of customer preferences (the whatsapp opt-out only), kept from the
-- order API's customer.preferences messages; a message applies only when its version is
-- newer than the row's.
CREATE TABLE customer_preferences (
  client       text NOT NULL,
  customer_key text NOT NULL,
  opted_out    boolean NOT NULL,
  version      bigint NOT NULL,
  updated_at   timestamptz NOT NULL,
  PRIMARY KEY (client, customer_key)
);

-- Numbers that told us to stop, whichever client's order they were reached for: an
-- inbound STOP (WhatsApp or SMS), or Twilio's 21610 (the number unsubscribed from this
-- sender). Neither WhatsApp nor the SMS fallback goes to them; START removes the row.
CREATE TABLE phone_opt_outs (
  phone        text PRIMARY KEY CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
  source       text NOT NULL CHECK (source IN ('stop-keyword', 'twilio-21610')),
  opted_out_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE phone_opt_outs;
DROP TABLE customer_preferences;
ALTER TABLE messages DROP COLUMN fallback_reason, DROP COLUMN via;

-- Up Migration

-- The SMS fallback for a WhatsApp message that Twilio accepted and later reports failed
-- (status callback with 63016 etc.). At send time the message keeps what that SMS needs:
-- its text (cleared once the SMS is sent, skipped or the WhatsApp message delivered) and
-- the order's subscriber, whose WhatsApp opt-out stops the SMS too. When the SMS goes, the
-- row becomes the SMS (message_sid, via = 'sms') and replaced_sid keeps the WhatsApp
-- message it replaced, so its late or repeated callbacks still find the order; a fallback
-- skipped because of an opt-out is remembered in sms_skipped. Still one row per order, so
-- the order lock makes the fallback happen once.
ALTER TABLE messages
  ADD COLUMN sms_body text CHECK (length(sms_body) <= 1600),
  ADD COLUMN subscriber_client text CHECK (length(subscriber_client) <= 200),
  ADD COLUMN subscriber_key text CHECK (length(subscriber_key) <= 320),
  ADD COLUMN replaced_sid text UNIQUE,
  ADD COLUMN sms_skipped text CHECK (length(sms_skipped) <= 1000);

-- The statuses of the SMS that replaced a WhatsApp message are its own (fallback = true):
-- the WhatsApp message's `failed` and the SMS's `queued`, `sent`, ... both stay recorded.
ALTER TABLE status_history
  ADD COLUMN fallback boolean NOT NULL DEFAULT false,
  DROP CONSTRAINT status_history_pkey,
  ADD PRIMARY KEY (order_id, fallback, status);

-- Down Migration
ALTER TABLE status_history DROP CONSTRAINT status_history_pkey;
DELETE FROM status_history WHERE fallback;
ALTER TABLE status_history DROP COLUMN fallback, ADD PRIMARY KEY (order_id, status);
ALTER TABLE messages
  DROP COLUMN sms_skipped,
  DROP COLUMN replaced_sid,
  DROP COLUMN subscriber_key,
  DROP COLUMN subscriber_client,
  DROP COLUMN sms_body;

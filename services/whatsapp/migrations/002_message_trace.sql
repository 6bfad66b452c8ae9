-- Up Migration
-- The trace the message was sent in (W3C traceparent of the delivery that sent it), so the
-- status callbacks Twilio makes later, which carry no trace context, continue that trace.
ALTER TABLE messages ADD COLUMN traceparent text CHECK (length(traceparent) <= 55);

-- Down Migration
ALTER TABLE messages DROP COLUMN traceparent;

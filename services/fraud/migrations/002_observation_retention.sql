-- Up Migration

-- The retention sweeper deletes observations older than FRAUD_HISTORY_RETENTION; this
-- index lets it find them without scanning the table.
CREATE INDEX observations_observed_at ON observations (observed_at);

-- Down Migration
DROP INDEX observations_observed_at;

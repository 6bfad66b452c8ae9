-- Up Migration

-- An order belongs to the API client that created it (its name in API_KEYS, `key-<hash>`
-- for an unnamed key, `anonymous` without authentication); other clients cannot read it.
-- Orders stored before owners existed have none and are readable by operators only.
ALTER TABLE orders ADD COLUMN client text;

-- Down Migration

ALTER TABLE orders DROP COLUMN client;

-- One service's role and schema. Run as a superuser with
-- psql -v db=<database> -v role=<role> -v schema=<schema> -v password=<password>
--      -v connection_limit=<n> -v statement_timeout=<30s> -v idle_in_transaction_timeout=<60s>.
-- The role owns its schema (its migrations create tables there) and has no access to
-- any other service's schema.
CREATE ROLE :"role" LOGIN PASSWORD :'password' CONNECTION LIMIT :connection_limit;
-- No CREATE on the database: the schema is made here, and the migration runner only
-- creates one when it is missing.
GRANT CONNECT ON DATABASE :"db" TO :"role";
\connect :"db"
CREATE SCHEMA :"schema" AUTHORIZATION :"role";
ALTER ROLE :"role" IN DATABASE :"db" SET search_path = :"schema";
ALTER ROLE :"role" IN DATABASE :"db" SET statement_timeout = :'statement_timeout';
ALTER ROLE :"role" IN DATABASE :"db" SET idle_in_transaction_session_timeout = :'idle_in_transaction_timeout';

-- One service's role and schema. Run as a superuser with
-- psql -v db=<database> -v role=<role> -v schema=<schema> -v password=<password>.
-- The role owns its schema (its migrations create tables there) and has no access to
-- any other service's schema.
CREATE ROLE :"role" LOGIN PASSWORD :'password';
GRANT CONNECT ON DATABASE :"db" TO :"role";
-- The migration runner issues CREATE SCHEMA IF NOT EXISTS on every start, which
-- PostgreSQL refuses without CREATE on the database even when the schema exists.
GRANT CREATE ON DATABASE :"db" TO :"role";
\connect :"db"
CREATE SCHEMA :"schema" AUTHORIZATION :"role";
ALTER ROLE :"role" IN DATABASE :"db" SET search_path = :"schema";

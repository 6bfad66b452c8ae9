-- The database every service shares, one schema each. Run as a superuser with
-- psql -v db=<database>. Nobody may connect or use `public` unless granted.
CREATE DATABASE :"db";
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
\connect :"db"
REVOKE ALL ON SCHEMA public FROM PUBLIC;

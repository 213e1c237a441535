#!/bin/sh
# Runs once, when the PostgreSQL volume is first created: Synapse's database and the app
# database, each with its own role. The cluster was created with C collation.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" <<SQL
CREATE ROLE synapse LOGIN PASSWORD '${APP_DB_PASSWORD}';
CREATE DATABASE synapse OWNER synapse TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C' ENCODING 'UTF8';
CREATE ROLE app LOGIN PASSWORD '${APP_DB_PASSWORD}';
CREATE DATABASE app OWNER app;
SQL

#!/bin/sh
# Runs once, when the PostgreSQL volume is first created: Synapse's database and the app
# database, each owned by its own role with its own password. The cluster was created
# with C collation (Synapse requires it).
#
# It refuses to create anything with a missing or placeholder password, with one reused
# between roles (or the superuser's), or with one that cannot stand in a database URL
# as it is. Generate each with `openssl rand -hex 24`.
#
# SYNAPSE_DB and APP_DB name the roles and databases (default `synapse` and `app`, the
# names docker-compose.yml uses); the tests set them to run it on a shared server.
set -eu

SYNAPSE_DB="${SYNAPSE_DB:-synapse}"
APP_DB="${APP_DB:-app}"

# The same list as common/shared_settings.py's PLACEHOLDER_PASSWORDS.
PLACEHOLDERS="change-me changeme password postgres secret example"

refuse() {
  echo "postgres-init: $1; set it in .env (openssl rand -hex 24) and remove the postgres_data volume" >&2
  exit 1
}

check_password() {  # name value
  [ -n "$2" ] || refuse "$1 is empty"
  lowered=$(printf '%s' "$2" | tr '[:upper:]' '[:lower:]')
  for placeholder in $PLACEHOLDERS; do
    [ "$lowered" != "$placeholder" ] || refuse "$1 is the placeholder '$placeholder'"
  done
}

check_url_password() {  # name value: a role's password, which goes into a database URL
  check_password "$1" "$2"
  case "$2" in
    *[!A-Za-z0-9._~-]*) refuse "$1 has characters other than letters, digits and . _ ~ -" ;;
  esac
}

check_password POSTGRES_PASSWORD "${POSTGRES_PASSWORD:-}"
check_url_password SYNAPSE_DB_PASSWORD "${SYNAPSE_DB_PASSWORD:-}"
check_url_password APP_DB_PASSWORD "${APP_DB_PASSWORD:-}"
[ "$SYNAPSE_DB_PASSWORD" != "$APP_DB_PASSWORD" ] || refuse "SYNAPSE_DB_PASSWORD and APP_DB_PASSWORD are the same"
for role_password in "$SYNAPSE_DB_PASSWORD" "$APP_DB_PASSWORD"; do
  [ "$role_password" != "$POSTGRES_PASSWORD" ] || refuse "a role password is the same as POSTGRES_PASSWORD"
done

# psql quotes the variables (:"name" as an identifier, :'name' as a literal).
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v synapse_db="$SYNAPSE_DB" -v synapse_password="$SYNAPSE_DB_PASSWORD" \
  -v app_db="$APP_DB" -v app_password="$APP_DB_PASSWORD" <<'SQL'
CREATE ROLE :"synapse_db" LOGIN PASSWORD :'synapse_password';
CREATE DATABASE :"synapse_db" OWNER :"synapse_db" TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C' ENCODING 'UTF8';
CREATE ROLE :"app_db" LOGIN PASSWORD :'app_password';
CREATE DATABASE :"app_db" OWNER :"app_db";
REVOKE ALL ON DATABASE :"synapse_db" FROM PUBLIC;
REVOKE ALL ON DATABASE :"app_db" FROM PUBLIC;
SQL

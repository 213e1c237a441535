#!/bin/sh
# One-time upgrade of a compose install from the single `app_data` volume (everything
# under /data) to one volume per component. Run it in a throwaway container with the old
# volume at $OLD (read-only) and the new ones under $NEW, as docs/OPERATIONS.md shows:
#   $NEW/synapse, $NEW/bot, $NEW/secrets/{synapse,admin,bot,portal}
# Secrets are taken from either layout the old volume may have: one folder per
# component, or every secret directly under secrets/. It never overwrites: if a new
# volume already holds a file (say the new stack was started first), it stops.
set -eu

OLD="${OLD:-/old}"
NEW="${NEW:-/new}"
OWNER="${OWNER:-10001:10001}"  # the app image's user, which Synapse's container runs as too

[ -f "$OLD/synapse/homeserver.yaml" ] || { echo "split-app-data: no $OLD/synapse/homeserver.yaml: is $OLD the old app_data volume?" >&2; exit 1; }

copy() {  # source target
  if [ -e "$2" ]; then
    echo "split-app-data: $2 exists already; remove the new volumes and run this again" >&2
    exit 1
  fi
  cp -a "$1" "$2"
}

for folder in synapse bot; do
  mkdir -p "$NEW/$folder"
  for item in "$OLD/$folder"/* "$OLD/$folder"/.[!.]*; do
    if [ -e "$item" ]; then
      copy "$item" "$NEW/$folder/${item##*/}"
    fi
  done
done

for pair in synapse/registration_shared_secret synapse/macaroon_secret_key synapse/form_secret \
    admin/admin_password bot/bot_password bot/crypto_store_key \
    portal/portal_session_key portal/token_key portal/registration_token; do
  component=${pair%%/*}
  name=${pair#*/}
  mkdir -p "$NEW/secrets/$component"
  for source in "$OLD/secrets/$pair" "$OLD/secrets/$name"; do
    if [ -f "$source" ]; then
      copy "$source" "$NEW/secrets/$pair"
      break
    fi
  done
done

chown -R "$OWNER" "$NEW"
chmod 0700 "$NEW/synapse" "$NEW/bot" "$NEW/secrets"/*
find "$NEW/secrets" -type f -exec chmod 0600 {} +
echo "split-app-data: done; check the new volumes, then remove app_data" >&2

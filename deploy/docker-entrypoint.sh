#!/bin/sh
# Entry point of the backend image: bring the database to the latest migration, then run
# the command (by default one backend instance, see deploy/Dockerfile).
#
#   CHATAPP_MIGRATE_ON_START=0   skip the migrations (compose runs them once, in its
#                                `migrate` service, before any instance starts)
set -eu

if [ "${CHATAPP_MIGRATE_ON_START:-1}" != "0" ]; then
    echo "[entrypoint] reflex db migrate" >&2
    reflex db migrate
fi

# exec: the app replaces this shell and receives the container's stop signal itself.
exec "$@"

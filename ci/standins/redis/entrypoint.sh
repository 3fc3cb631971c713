#!/bin/sh
# The official image compiles protected mode off, so other containers may connect.
if [ "$1" = redis-server ]; then
    shift
    exec redis-server "$@" --protected-mode no
fi
exec "$@"

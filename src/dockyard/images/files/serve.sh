#!/bin/sh
# Entry point of dockyard/hello: a forking HTTP server on $PORT, one /handler.sh per connection.
# As PID 1 the shell would ignore SIGTERM; the trap makes `docker stop` (and ECS StopTask) quick.
trap 'exit 0' TERM INT
echo "dockyard/hello version ${VERSION:-1} listening on port ${PORT:-80}"
nc -ll -p "${PORT:-80}" -e /handler.sh &
wait "$!"

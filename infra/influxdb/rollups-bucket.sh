#!/bin/sh
# Run once by the influxdb image after its first setup: a second bucket, with no retention of
# its own, for StreetWatch's roll-ups (INFLUX_ROLLUP_BUCKET). The readings' bucket keeps raw
# readings for INFLUX_RETENTION; StreetWatch prunes the roll-ups itself (docs/OPERATIONS.md).
set -e
influx bucket create --name streetwatch-rollups --org "${DOCKER_INFLUXDB_INIT_ORG}" --retention 0 --token "${DOCKER_INFLUXDB_INIT_ADMIN_TOKEN}"

#!/bin/sh
# Entry point of the Kafka Connect container (docker-compose.yml, profile `cdc`): start
# the distributed worker, wait for its REST API, register the connector of
# /etc/connect/connector.json (already registered: left as it is, its offsets are in
# Kafka), then stay in the foreground with the worker.
set -eu
mkdir -p /tmp/connect-logs
java -Xmx512m -Dlog4j2.configurationFile=/opt/connect/log4j2.properties \
  -Dconnect.logs.dir=/tmp/connect-logs -cp '/opt/connect/libs/*' \
  org.apache.kafka.connect.cli.ConnectDistributed /etc/connect/worker.properties &
worker=$!
trap 'kill -TERM "$worker"; wait "$worker"' TERM INT
until curl -fsS -o /dev/null http://127.0.0.1:8083/connectors; do
  kill -0 "$worker" || exit 1
  sleep 2
done
code=$(curl -sS -o /tmp/register.out -w '%{http_code}' -X POST \
  -H 'Content-Type: application/json' --data-binary @/etc/connect/connector.json \
  http://127.0.0.1:8083/connectors)
case $code in
  201 | 409) echo "connector registered (HTTP $code)" ;;
  *) echo "connector refused (HTTP $code): $(cat /tmp/register.out)" >&2 ;;
esac
wait "$worker"

# Kafka Connect with the Debezium PostgreSQL connector, for docker-compose.yml's `cdc`
# profile. The jars are the ones scripts/cdc.sh runs: scripts/cdc/pom.xml, resolved from
# Maven Central at build time. Build context: the repository root.
FROM maven:3.9.11-eclipse-temurin-17 AS jars
COPY scripts/cdc/pom.xml /build/pom.xml
RUN mvn -B -q -f /build/pom.xml dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory=/build/libs

FROM eclipse-temurin:17.0.16_8-jre-noble
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /opt/connect connect
COPY --from=jars /build/libs /opt/connect/libs
COPY scripts/cdc/log4j2.properties /opt/connect/log4j2.properties
COPY examples/one-stop/connect-start.sh /opt/connect/start.sh
USER connect
WORKDIR /opt/connect
ENTRYPOINT ["/bin/sh", "/opt/connect/start.sh"]

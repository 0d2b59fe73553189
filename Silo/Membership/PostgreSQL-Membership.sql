-- OrleansLocks cluster membership for PostgreSQL: schema version 1.
--
-- The silo runs this script at start-up when Storage:InitializeSchema is true (the default). DBAs who create the
-- schema themselves run it once with psql (psql -v ON_ERROR_STOP=1 -d orleanslocks -f PostgreSQL-Membership.sql)
-- and set Storage:InitializeSchema=false. It is idempotent and safe to run from many silos at once: it takes the same
-- transaction-level advisory lock as PostgreSQL-Storage.sql, so all schema runs serialize and the concurrent
-- CREATE ... IF NOT EXISTS statements (including the shared orleanslocks_schema_version) cannot race.
--
-- The design is Orleans' ADO.NET clustering: one version row per cluster, one row per silo incarnation. Every row
-- insert or update also moves the version row from v to v+1 in the same transaction (compare-and-swap), so the
-- version is the only concurrency token. Heartbeats (i_am_alive_time) are plain updates that leave the version alone.
-- Status holds Orleans' SiloStatus values: 0 None, 1 Created, 2 Joining, 3 Active, 4 ShuttingDown, 5 Stopping, 6 Dead.
-- suspect_times is a JSON array of {"voter": "host:port@generation", "time": "<ISO-8601 UTC>"} suspicion votes.
--
-- A cluster is named by (service_id, cluster_id), so two services that share a database and a cluster id never join
-- each other's cluster.

BEGIN;

-- 0x4F4C53544F520001 ("OLSTOR", 1): the key every schema script of OrleansLocks locks.
SELECT pg_advisory_xact_lock(5714033648799449089);

CREATE TABLE IF NOT EXISTS orleanslocks_schema_version
(
    component   text        NOT NULL,
    version     integer     NOT NULL,
    applied_on  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_orleanslocks_schema_version PRIMARY KEY (component)
);

CREATE TABLE IF NOT EXISTS orleanslocks_membership_version
(
    service_id  text COLLATE "C" NOT NULL,
    cluster_id  text COLLATE "C" NOT NULL,
    version     integer          NOT NULL DEFAULT 0,
    modified_on timestamptz      NOT NULL DEFAULT now(),
    CONSTRAINT pk_orleanslocks_membership_version PRIMARY KEY (service_id, cluster_id)
);

CREATE TABLE IF NOT EXISTS orleanslocks_membership
(
    service_id      text COLLATE "C" NOT NULL,
    cluster_id      text COLLATE "C" NOT NULL,
    address         text COLLATE "C" NOT NULL,
    port            integer          NOT NULL,
    generation      integer          NOT NULL,
    silo_name       text             NOT NULL,
    host_name       text             NOT NULL,
    status          integer          NOT NULL,
    suspect_times   jsonb            NOT NULL DEFAULT '[]',
    start_time      timestamptz      NOT NULL,
    i_am_alive_time timestamptz      NOT NULL,
    CONSTRAINT pk_orleanslocks_membership PRIMARY KEY (service_id, cluster_id, address, port, generation),
    CONSTRAINT fk_orleanslocks_membership_version FOREIGN KEY (service_id, cluster_id)
        REFERENCES orleanslocks_membership_version (service_id, cluster_id),
    CONSTRAINT ck_orleanslocks_membership_status CHECK (status BETWEEN 0 AND 6)
);

INSERT INTO orleanslocks_schema_version (component, version)
VALUES ('membership', 1)
ON CONFLICT (component) DO NOTHING;

COMMIT;

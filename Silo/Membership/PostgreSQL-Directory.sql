-- OrleansLocks grain directory for PostgreSQL: schema version 1.
--
-- The silo runs this script at start-up when Storage:InitializeSchema is true (the default), right after
-- PostgreSQL-Membership.sql. DBAs who create the schema themselves run it once with psql
-- (psql -v ON_ERROR_STOP=1 -d orleanslocks -f PostgreSQL-Directory.sql) and set Storage:InitializeSchema=false.
-- It is idempotent and safe to run from many silos at once: it takes the same transaction-level advisory lock as
-- the storage and membership scripts, so all schema runs serialize.
--
-- The design is Orleans' ADO.NET grain directory: one row per grain of a cluster, naming the silo incarnation
-- (address, port, generation) and the activation that is *the* activation of the grain. The first writer wins:
-- a silo registers before it reads the grain's state, and a silo that finds another live silo's row does not
-- activate. A row is deleted by its own activation when it deactivates (only if the activation id still matches),
-- by the survivors when its silo dies, or replaced by a registering silo that found its silo dead.
-- The table lives in the membership table's database (Cluster:PostgresConnectionString, or the storage's).

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

CREATE TABLE IF NOT EXISTS orleanslocks_grain_directory
(
    service_id    text COLLATE "C" NOT NULL,
    cluster_id    text COLLATE "C" NOT NULL,
    grain_type    text COLLATE "C" NOT NULL,
    grain_key     text COLLATE "C" NOT NULL,
    address       text COLLATE "C" NOT NULL,
    port          integer          NOT NULL,
    generation    integer          NOT NULL,
    activation_id uuid             NOT NULL,
    created_on    timestamptz      NOT NULL DEFAULT now(),
    CONSTRAINT pk_orleanslocks_grain_directory PRIMARY KEY (service_id, cluster_id, grain_type, grain_key)
);

-- Removing the rows of a dead silo (UnregisterSilos) must not scan the whole directory.
CREATE INDEX IF NOT EXISTS ix_orleanslocks_grain_directory_silo
    ON orleanslocks_grain_directory (service_id, cluster_id, address, port, generation);

INSERT INTO orleanslocks_schema_version (component, version)
VALUES ('directory', 1)
ON CONFLICT (component) DO NOTHING;

COMMIT;

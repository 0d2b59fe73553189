-- OrleansLocks grain storage for PostgreSQL: schema version 1.
--
-- The silo runs this script at start-up when Storage:InitializeSchema is true (the default). DBAs who create the
-- schema themselves run it once with psql (psql -v ON_ERROR_STOP=1 -d orleanslocks -f PostgreSQL-Storage.sql) and
-- set Storage:InitializeSchema=false. It is idempotent and safe to run from many silos at once: the transaction-level
-- advisory lock serializes runs, so concurrent CREATE ... IF NOT EXISTS cannot race.
--
-- Upgrades: a later schema version appends its changes below, each guarded so that it runs only while
-- orleanslocks_schema_version says the storage schema is older, and bumps that version in the same transaction.
--
-- Rows are never deleted: a lock's fencing counter lives in its row and must never go back.
-- payload is the grain state as UTF-8 JSON; to read it: SELECT convert_from(payload, 'UTF8')::jsonb FROM ...
-- Keys use COLLATE "C" so that comparisons and listings are in code point (ordinal) order, whatever the database's
-- default collation is, and so that range scans on the primary key and the listing index work for prefixes.

BEGIN;

-- 0x4F4C53544F520001 ("OLSTOR", 1): the lock key of every run of this script.
SELECT pg_advisory_xact_lock(5714033648799449089);

CREATE TABLE IF NOT EXISTS orleanslocks_schema_version
(
    component   text        NOT NULL,
    version     integer     NOT NULL,
    applied_on  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_orleanslocks_schema_version PRIMARY KEY (component)
);

CREATE TABLE IF NOT EXISTS orleanslocks_storage
(
    service_id  text COLLATE "C" NOT NULL,
    grain_type  text COLLATE "C" NOT NULL,
    state_name  text COLLATE "C" NOT NULL,
    grain_key   text COLLATE "C" NOT NULL,
    version     integer          NOT NULL,
    payload     bytea            NOT NULL,
    listed      boolean          NOT NULL,
    modified_on timestamptz      NOT NULL,
    CONSTRAINT pk_orleanslocks_storage PRIMARY KEY (service_id, grain_type, state_name, grain_key),
    CONSTRAINT ck_orleanslocks_storage_version CHECK (version > 0)
)
-- Every write is an UPDATE of the whole row; free space on each page lets PostgreSQL keep them HOT (no index update).
WITH (fillfactor = 80);

-- Listings (GET /locks) read only the listed rows (held or queued locks), in key order.
CREATE INDEX IF NOT EXISTS ix_orleanslocks_storage_listed
    ON orleanslocks_storage (service_id, grain_type, state_name, grain_key)
    WHERE listed;

INSERT INTO orleanslocks_schema_version (component, version)
VALUES ('storage', 1)
ON CONFLICT (component) DO NOTHING;

COMMIT;

-- OrleansLocks grain storage for SQLite: schema version 1.
--
-- The silo runs this script at start-up when Storage:InitializeSchema is true (the default), after switching the
-- file to WAL journaling (PRAGMA journal_mode=WAL, which persists in the file). To create a database by hand:
--   sqlite3 data/orleanslocks.db "PRAGMA journal_mode=WAL;" ".read SQLite-Storage.sql"
-- It is idempotent; BEGIN IMMEDIATE makes concurrent runs take turns.
--
-- One silo per file: SQLite's locking keeps the file consistent if a second process opens it, and version checks
-- keep every lock's state safe, but a second silo is not part of any cluster and would fight the first over every
-- grain. Use PostgreSQL for more than one silo.
--
-- Rows are never deleted: a lock's fencing counter lives in its row and must never go back.
-- payload is the grain state as UTF-8 JSON (SELECT CAST(payload AS TEXT) FROM ...). Keys compare with the BINARY
-- collation, which for UTF-8 text is code point (ordinal) order, the order listings promise.

BEGIN IMMEDIATE;

CREATE TABLE IF NOT EXISTS orleanslocks_schema_version
(
    component   TEXT    NOT NULL PRIMARY KEY,
    version     INTEGER NOT NULL,
    applied_on  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE IF NOT EXISTS orleanslocks_storage
(
    service_id  TEXT    NOT NULL COLLATE BINARY,
    grain_type  TEXT    NOT NULL COLLATE BINARY,
    state_name  TEXT    NOT NULL COLLATE BINARY,
    grain_key   TEXT    NOT NULL COLLATE BINARY,
    version     INTEGER NOT NULL CHECK (version > 0),
    payload     BLOB    NOT NULL,
    listed      INTEGER NOT NULL CHECK (listed IN (0, 1)),
    modified_on TEXT    NOT NULL,
    PRIMARY KEY (service_id, grain_type, state_name, grain_key)
);

-- Listings (GET /locks) read only the listed rows (held or queued locks), in key order.
CREATE INDEX IF NOT EXISTS ix_orleanslocks_storage_listed
    ON orleanslocks_storage (service_id, grain_type, state_name, grain_key)
    WHERE listed = 1;

INSERT INTO orleanslocks_schema_version (component, version)
VALUES ('storage', 1)
ON CONFLICT (component) DO NOTHING;

COMMIT;

-- depends: 0001_schema
-- Which version of each sql/ file the database holds: service/migrate.py applies
-- a file again, after the versioned migrations, whenever its checksum changes.
CREATE TABLE _sql_files (
    name       text PRIMARY KEY,
    sha256     text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);

-- Nothing on SQLite: every write of the embedded database goes through this process, which
-- counts its commits (store/src/db.rs); the PostgreSQL side adds notifications of changes.
SELECT 1;

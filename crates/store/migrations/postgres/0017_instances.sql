-- The live instances by name (`mail.instance`): who holds each name now (a random id per process
-- start, its host and pid), and when it last said it is alive. A second process started under a
-- name whose holder is alive refuses to start; one that finds the holder gone (a crash) takes it.
CREATE TABLE instances (
    name TEXT PRIMARY KEY,
    boot_id TEXT NOT NULL,
    host TEXT NOT NULL,
    pid BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL,
    heartbeat_seconds BIGINT NOT NULL
);

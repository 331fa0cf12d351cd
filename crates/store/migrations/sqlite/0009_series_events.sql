-- A series is one calendar event per recipient: its own UID, the rule's first instant and the
-- length its occurrences have unless changed alone; each session keeps the instant the rule gave
-- it (RECURRENCE-ID) when moved; an invitation that describes a whole series names it.
ALTER TABLE series ADD COLUMN uid TEXT;
ALTER TABLE series ADD COLUMN first_at INTEGER;
ALTER TABLE series ADD COLUMN duration_seconds INTEGER;
ALTER TABLE sessions ADD COLUMN occurrence_at INTEGER;
ALTER TABLE outbox ADD COLUMN series_id TEXT;

-- Existing series: a UID of their own, their first session's instant and length; a moved
-- session's original instant is not known any more, its current one stands for it.
UPDATE sessions SET occurrence_at = starts_at WHERE series_id IS NOT NULL;
UPDATE series SET
    uid = id || '-series@dialogue',
    first_at = (SELECT MIN(s.occurrence_at) FROM sessions s WHERE s.series_id = series.id),
    duration_seconds = (SELECT s.ends_at - s.starts_at FROM sessions s WHERE s.series_id = series.id
                        ORDER BY s.occurrence_at LIMIT 1);
CREATE INDEX outbox_series ON outbox (series_id, recipient_norm) WHERE series_id IS NOT NULL;

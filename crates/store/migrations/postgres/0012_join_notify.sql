-- Each instance caches join lookups (store/src/rooms.rs) and keeps them exact through
-- notifications (store/src/join_watch.rs): every statement that can change a cached answer
-- notifies the channel `dialogue_join`. A notification is delivered when its transaction
-- commits (and not at all when it rolls back), to every instance, whichever program wrote.
-- Inserts can change no cached answer (an entry is a participant, their session, user or
-- contact as they were), except a new (default) Jitsi server.
CREATE FUNCTION dialogue_join_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('dialogue_join', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER join_changed AFTER UPDATE OR DELETE OR TRUNCATE ON session_participants
    FOR EACH STATEMENT EXECUTE FUNCTION dialogue_join_changed();
CREATE TRIGGER join_changed AFTER UPDATE OR DELETE OR TRUNCATE ON sessions
    FOR EACH STATEMENT EXECUTE FUNCTION dialogue_join_changed();
CREATE TRIGGER join_changed AFTER UPDATE OR DELETE OR TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION dialogue_join_changed();
CREATE TRIGGER join_changed AFTER UPDATE OR DELETE OR TRUNCATE ON contacts
    FOR EACH STATEMENT EXECUTE FUNCTION dialogue_join_changed();
CREATE TRIGGER join_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON jitsi_servers
    FOR EACH STATEMENT EXECUTE FUNCTION dialogue_join_changed();

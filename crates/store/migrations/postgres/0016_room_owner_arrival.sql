-- When a personal room's owner last took their way in from Dialogue (their moderator token):
-- Prosody's reservation for the room is accepted in the minutes after it, since stock Jitsi
-- names token users with random XMPP nodes and `mail_owner` alone cannot tell who asks.
ALTER TABLE personal_rooms ADD COLUMN owner_entered_at BIGINT;

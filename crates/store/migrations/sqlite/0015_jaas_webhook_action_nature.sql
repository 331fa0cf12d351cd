-- The secret of a JaaS server's webhook endpoint (sealed like the other secrets), with which
-- Dialogue verifies the X-Jaas-Signature of JaaS's participant joined/left deliveries.
-- Deliveries are stored in jitsi_events under their idempotency key: no new table.
ALTER TABLE jitsi_servers ADD COLUMN webhook_secret_enc TEXT;

-- The nature of the action a course's certificates of completion state (the ministry's model):
-- training, skills_assessment, vae or apprenticeship.
ALTER TABLE courses ADD COLUMN action_nature TEXT NOT NULL DEFAULT 'training';

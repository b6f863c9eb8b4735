-- Several authenticators per account, each with the clock drift it showed.
-- purpose: what finishing the setup does (enable two-step, replace every
-- other authenticator, or add one more). drift: the device's lead over the
-- server in 30 s steps. resync_step/resync_at: a near-miss code waiting for
-- the device's next code (5 minutes).
ALTER TABLE authenticators ADD COLUMN purpose TEXT NOT NULL DEFAULT 'enable';
ALTER TABLE authenticators ADD COLUMN drift BIGINT NOT NULL DEFAULT 0;
ALTER TABLE authenticators ADD COLUMN resync_step BIGINT;
ALTER TABLE authenticators ADD COLUMN resync_at BIGINT;

-- Proof that recovery codes were saved: each code keeps its place in the
-- list (1..6), and the account the place of the code it must type back.
ALTER TABLE recovery_codes ADD COLUMN position BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN codes_check_position BIGINT;

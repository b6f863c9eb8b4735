-- Recovery codes of the 16-character format: the first two characters pick
-- the row (distinct within one account's set), the hash is Argon2id (a PHC
-- string). Rows of the earlier format keep lookup NULL and their keyed hash.
ALTER TABLE recovery_codes ADD COLUMN lookup TEXT;
CREATE INDEX recovery_codes_lookup ON recovery_codes(user_id, lookup);

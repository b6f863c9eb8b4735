-- Where a session was made from, for its owner's sessions page: the
-- client's address and its User-Agent (bounded by the server). Sessions
-- made before this keep empty strings.
ALTER TABLE sessions ADD COLUMN ip TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';

-- A keyed hash of the master key, written by the first server to start, so
-- a node with another secret key (which could not read the TOTP secrets
-- sealed by the others) is refused at start.
CREATE TABLE key_checks (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Sign-in ceremonies that nobody has finished cost the server nothing: a
-- trip to a provider and a password-less passkey sign-in travel sealed in
-- the browser (the cookie, the page), not in a table a flood could fill.
-- What is kept is the mark of a finished one, so it is used once.
DROP TABLE oidc_logins;
DROP TABLE passkey_challenges;
CREATE TABLE ceremonies_done (
    id TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX ceremonies_done_expiry ON ceremonies_done(expires_at);

-- What cannot travel in the browser (a device code is polled by the tool
-- and typed by a person elsewhere) is limited per window, per network and
-- per application, with one atomic counter each.
CREATE TABLE throttles (
    key TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (key, window_start)
);

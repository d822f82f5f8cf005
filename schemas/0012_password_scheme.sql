-- How the client formed the password it sent (issue #12). NULL: as typed (Matrix clients such as
-- Element, imported bcrypt/PBKDF2 hashes, admin-set passwords). 'derived-v1': the seekers' web app's
-- login secret, derived from the typed password with PBKDF2 (web-client/src/key_recovery.js); the
-- typed password itself must then never be sent, so a failed login tells only as-typed accounts to
-- try it as typed.
ALTER TABLE users ADD COLUMN password_scheme TEXT;

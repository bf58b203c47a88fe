-- State that lived in one process's memory: console sessions (a restart no longer signs everyone out),
-- leases for jobs that run once per deployment, and event notifications waiting for delivery.
CREATE TABLE console_sessions (id_hash TEXT PRIMARY KEY, record TEXT NOT NULL, expires INTEGER NOT NULL);
CREATE INDEX console_sessions_by_expiry ON console_sessions (expires);
CREATE TABLE leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires INTEGER NOT NULL);
CREATE TABLE event_outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, record TEXT NOT NULL);

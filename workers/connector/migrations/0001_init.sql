-- The connector's database. Documented in workers/connector/README.md ("Storage").

-- Every replicated log entry, decrypted. `seq` is the local order of arrival (the platform's log order).
CREATE TABLE records (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,                 -- event | record
  device_id TEXT,
  user_id TEXT,
  type TEXT NOT NULL,
  time TEXT NOT NULL,                 -- RFC 3339, as sent (and signed)
  time_ms INTEGER NOT NULL,           -- the same instant in ms since the epoch, for filters, buckets and ordering
  received_at TEXT NOT NULL,
  size INTEGER NOT NULL,
  enc_kid TEXT,
  payload TEXT,                       -- the decrypted payload as JSON text; NULL while it cannot be decrypted
  body TEXT,                          -- the payload flattened to text, what the FTS5 index holds
  decrypt_status TEXT NOT NULL,       -- ok (decrypted) | plain (not encrypted) | failed
  decrypt_error TEXT,                 -- why it could not be decrypted (unknown kid, corrupt, relabelled)
  ciphertext TEXT,                    -- the JWE, kept only while decryption fails, to retry when a key is added
  signature TEXT,
  sig_kid TEXT,
  sig_status TEXT NOT NULL,           -- none | valid | invalid | unknown_kid
  sig_detail TEXT,
  replicated_at INTEGER NOT NULL
);
CREATE INDEX records_time_idx ON records (time_ms, seq);
CREATE INDEX records_type_time_idx ON records (type, time_ms);
CREATE INDEX records_device_time_idx ON records (device_id, time_ms);
CREATE INDEX records_failed_idx ON records (decrypt_status) WHERE decrypt_status = 'failed';

-- Full text over the flattened payload (external content: the text lives once, in records.body).
CREATE VIRTUAL TABLE records_fts USING fts5 (body, content = 'records', content_rowid = 'seq', tokenize = 'unicode61');

CREATE TRIGGER records_fts_insert AFTER INSERT ON records WHEN new.body IS NOT NULL BEGIN
  INSERT INTO records_fts (rowid, body) VALUES (new.seq, new.body);
END;
CREATE TRIGGER records_fts_delete AFTER DELETE ON records WHEN old.body IS NOT NULL BEGIN
  INSERT INTO records_fts (records_fts, rowid, body) VALUES ('delete', old.seq, old.body);
END;
CREATE TRIGGER records_fts_update AFTER UPDATE OF body ON records BEGIN
  INSERT INTO records_fts (records_fts, rowid, body) SELECT 'delete', old.seq, old.body WHERE old.body IS NOT NULL;
  INSERT INTO records_fts (rowid, body) SELECT new.seq, new.body WHERE new.body IS NOT NULL;
END;

-- One row: where replication stands. Written in the same batch as each page it describes.
CREATE TABLE replication_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  cursor TEXT,                        -- the platform's opaque cursor after the last stored entry; NULL = from the start
  pages INTEGER NOT NULL DEFAULT 0,
  last_received_at TEXT,              -- receivedAt of the last stored entry
  last_sync_at INTEGER,
  caught_up_at INTEGER,
  last_error TEXT,
  last_error_at INTEGER,
  key_kids TEXT                       -- the decryption kids at the last retry of failed records
);
INSERT INTO replication_state (id) VALUES (1);

-- Business rule runs: one per (rule, record), created in the batch that stores the record, so each fires exactly once.
CREATE TABLE rule_runs (
  rule TEXT NOT NULL,
  record_id TEXT NOT NULL,
  action TEXT NOT NULL,               -- webhook | append
  status TEXT NOT NULL,               -- pending | done | failed (gave up after the last attempt)
  attempts INTEGER NOT NULL DEFAULT 0,
  output_id TEXT NOT NULL,            -- the appended record's id, or the webhook-id: the same on every attempt
  output_time TEXT NOT NULL,
  output_body TEXT,                   -- the signed record as first sent, re-sent unchanged on retries (the platform then says duplicate)
  result TEXT,                        -- HTTP status and detail of the last attempt
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  PRIMARY KEY (rule, record_id)
);
CREATE INDEX rule_runs_pending_idx ON rule_runs (status, next_attempt_at);

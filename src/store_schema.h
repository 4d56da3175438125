/* store_schema.h — the schema's versions, written once for both backends.
 *
 * store.c (SQLite) and store_pg.c (PostgreSQL) apply the same list, version
 * for version, each in its own dialect: BIG is the type of a millisecond
 * timestamp or a token count (SQLite "INTEGER", PostgreSQL "BIGINT") and
 * NOROWID what ends the events table (SQLite " WITHOUT ROWID", else "").
 * A new version is one more element here, so the two cannot drift apart.
 * Use: static const char *const m[] = STORE_SCHEMA_MIGRATIONS("BIGINT", ""); */
#ifndef COACH_STORE_SCHEMA_H
#define COACH_STORE_SCHEMA_H

#define STORE_SCHEMA_MIGRATIONS(BIG, NOROWID) { \
    /* v1 */ \
    "CREATE TABLE sessions(" \
    "  id TEXT PRIMARY KEY," \
    "  parent_name TEXT," \
    "  created_at " BIG " NOT NULL);" \
    "CREATE TABLE messages(" \
    "  id TEXT PRIMARY KEY," \
    "  session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE," \
    "  seq INTEGER NOT NULL," \
    "  role TEXT NOT NULL CHECK (role IN ('user', 'assistant'))," \
    "  content TEXT NOT NULL DEFAULT ''," \
    "  citations TEXT," \
    "  refusal TEXT," \
    "  status TEXT NOT NULL," \
    "  events TEXT," \
    "  engine TEXT," \
    "  prompt_version TEXT," \
    "  prompt_tokens " BIG " NOT NULL DEFAULT 0," \
    "  completion_tokens " BIG " NOT NULL DEFAULT 0," \
    "  created_at " BIG " NOT NULL," \
    "  finished_at " BIG ");" \
    "CREATE UNIQUE INDEX messages_by_session ON messages(session_id, seq);" \
    "CREATE INDEX messages_by_finish ON messages(finished_at);", \
    /* v2: the triage notice shown before an answer (urgent, prepare, net) */ \
    "ALTER TABLE messages ADD COLUMN triage TEXT;", \
    /* v3: a parent's feedback on an answer (one row per answer, replaced \
     * when the parent changes it), deleted with the message */ \
    "CREATE TABLE feedback(" \
    "  message_id TEXT PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE," \
    "  helpful INTEGER NOT NULL CHECK (helpful IN (0, 1))," \
    "  reason TEXT," \
    "  created_at " BIG " NOT NULL);", \
    /* v4: each answer's events as they are shown, appended in batches \
     * (store_events_append), so a crash keeps the words shown and another \
     * instance can replay a live answer; the instance that runs a pending \
     * answer and how long its lease lasts */ \
    "CREATE TABLE events(" \
    "  message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE," \
    "  seq INTEGER NOT NULL," \
    "  data TEXT NOT NULL," \
    "  PRIMARY KEY (message_id, seq))" NOROWID ";" \
    "ALTER TABLE messages ADD COLUMN owner TEXT;" \
    "ALTER TABLE messages ADD COLUMN lease_until " BIG ";" \
    "CREATE INDEX messages_pending ON messages(status) WHERE status = 'pending';", \
}

#endif

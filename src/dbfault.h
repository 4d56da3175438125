/* dbfault.h — SQLite I/O error injection for tests, through SQLite's own
 * VFS interface.
 *
 * dbfault_install registers a VFS that wraps the default one and makes it
 * the default. Every call is passed through, except that while the file
 * named by `trigger` exists, writes, truncates and syncs fail with
 * SQLITE_FULL (what a full disk gives). A test creates and removes the
 * trigger file to turn the fault on and off under a running coachd. It is
 * installed only when COACHD_TEST_DB_FAULT names a trigger (store.c); a
 * production start never registers it. The trigger string is copied. */
#ifndef COACH_DBFAULT_H
#define COACH_DBFAULT_H

/* Returns 0, or -1 when SQLite has no default VFS or registration fails. */
int dbfault_install(const char *trigger);

/* 1 while the trigger file exists (the fault is on), else 0. */
int dbfault_active(void);

#endif

/* budget.h — token budgets (see budget.c): whether a session or today has
 * spent what --session-token-budget / --daily-token-budget allow, so the
 * turn answers in lite mode instead of calling the model. */
#ifndef COACH_BUDGET_H
#define COACH_BUDGET_H

struct store;
struct budget;

/* A budget over store (borrowed); 0 means no limit. Never NULL. */
struct budget *budget_new(struct store *store, long session_tokens, long daily_tokens);
void budget_free(struct budget *b);

/* 1 when the session's or today's tokens are spent. b may be NULL (no
 * limits). */
int budget_spent(struct budget *b, const char *session_id);

/* The same, off the loop: budget_daily_due (loop) says whether today's
 * sum must be read again; the caller reads it and the session's sum from
 * the store (store_tokens_since / store_tokens_session, on a store_call
 * view) and passes them here (daily_read -1: not read, the cache holds). */
int budget_daily_due(const struct budget *b);
int budget_spent_known(struct budget *b, long session_tokens, long daily_read);

/* Counts tokens an answer used before the store has them (they are saved
 * with the answer). b may be NULL. */
void budget_add(struct budget *b, long tokens);

#endif

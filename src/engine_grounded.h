/* engine_grounded.h — the grounded engine (see engine_grounded.c): answers
 * composed from the retrieved passages only, offline. */
#ifndef COACH_ENGINE_GROUNDED_H
#define COACH_ENGINE_GROUNDED_H

#include <jansson.h>
#include <stddef.h>

#include "engine.h"
#include "kb.h"

struct event_base;

/* The engine; pace_ms is the delay between word chunks (0 = the first
 * chunk, then all the rest at once). */
struct engine *engine_grounded_new(struct event_base *base, const struct kb *kb, int pace_ms);

/* Composes the grounded answer (pure and deterministic): the text with [n]
 * markers and the citations array [{"id","source","title","url"}] numbered
 * as in the text. Both are new and owned by the caller (free / json_decref).
 * With no hits it returns the "no vetted guidance" answer and []. */
void grounded_compose(const struct kb *kb, const char *question, size_t len,
                      const struct kb_hit *hits, size_t nhits, int age_months,
                      char **text, json_t **citations);

/* 1 when the question (its first sentence that ends in '?', or all of
 * it) is a yes/no question: it opens with "is", "can", "should", "do"...
 * ("is it ok to...", "can I...", "should I..."), or its last clause does
 * ("when he gets stuck, should I finish his words?"). Pure. */
int grounded_is_yes_no(const char *q, size_t len);

/* The answer's first words for a yes/no question, read from the passage's
 * answering sentence: "No, it is best not to." (the sentence says never,
 * avoid, do not...), "Yes, usually." (safe, fine, can), "Usually, yes."
 * (common, normal, most children), for "is it bad / should I worry"
 * questions "Yes, it is best avoided." or "Usually not.", and "It
 * depends." when the sentence is conditional (if, when, until). NULL when
 * the question is not yes/no or the sentence says none of these. A static
 * string. Pure. */
const char *grounded_verdict(const char *q, size_t len, const char *sentence);

/* Splits text into word-sized chunks (a word and the white space after it);
 * returns the byte length of the chunk starting at text[off]. */
size_t grounded_next_chunk(const char *text, size_t len, size_t off);

#endif

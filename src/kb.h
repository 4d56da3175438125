/* kb.h — the knowledge base: vetted passages loaded from Markdown files,
 * indexed in an in-memory SQLite FTS5 table, and searched with BM25.
 *
 * A knowledge base is loaded once at start-up and is read-only afterwards;
 * passages and their strings are owned by the struct kb and live until
 * kb_free. See docs/knowledge-base.md for the file format. */
#ifndef COACH_KB_H
#define COACH_KB_H

#include <stddef.h>
#include <stdio.h>

struct kb_passage {
    const char *id, *title, *source, *source_short, *url, *reviewed;
    const char *const *topics;      size_t ntopics;
    const char *const *keywords;    size_t nkeywords;
    const char *const *asks;        size_t nasks;   /* example parent questions */
    int url_checked;                /* 1: the url was confirmed to say this */
    int age_lo, age_hi;             /* months, inclusive */
    const char *body;               /* prose */
    const char *const *steps;       size_t nsteps;
    const char *help;               /* "When to get help" line, or NULL */
    const char *file;
};

struct kb_hit {
    const struct kb_passage *p;
    double score;                   /* higher is better */
};

struct kb;

/* Problems found while loading: each "file:line: message". */
struct kb_problems {
    char **items;
    size_t n, cap;
};
void kb_problems_free(struct kb_problems *pr);

/* Loads every *.md passage, topics*.tsv and synonyms*.tsv under each
 * directory (recursively). Returns 0 and a kb, or -1 with every problem
 * listed in pr (and *out NULL). pr may be NULL. */
int kb_load(const char *const *dirs, size_t ndirs, struct kb **out,
            struct kb_problems *pr);
void kb_free(struct kb *kb);

/* Parses one passage (text[0..len), any bytes; the "---" front matter,
 * the body, "Steps:" and "When to get help:"), named path in problems and
 * in out->file. Pure: no file I/O. With kb (may be NULL) it also checks
 * that the id is new and the topics known there. Returns 0 and fills *out
 * (owned: kb_passage_clear frees it), or -1 with each problem added to pr
 * (may be NULL) and *out empty. */
int kb_parse_passage(const char *text, size_t len, const char *path, const struct kb *kb,
                     struct kb_passage *out, struct kb_problems *pr);
void kb_passage_clear(struct kb_passage *p);

/* 1 when a URL names a site's or section's index rather than a page for a
 * claim: no path, a one-segment path, or an index file such as
 * ".../Pages/default.aspx" or ".../index.html". Pure. */
int kb_url_is_index(const char *url);

size_t kb_count(const struct kb *kb);
size_t kb_topic_count(const struct kb *kb);
const struct kb_passage *kb_get(const struct kb *kb, size_t i);
const struct kb_passage *kb_find(const struct kb *kb, const char *id);

/* The warm opening line and the label of a topic, or NULL. */
const char *kb_topic_opener(const struct kb *kb, const char *topic);
const char *kb_topic_label(const struct kb *kb, const char *topic);

/* The child's age in months if the question states one ("my 3yo",
 * "18 months", "six week old", "toddler"), else -1. Pure. */
int kb_parse_age(const char *q, size_t len);

/* Searches for passages that answer the question. Writes up to max hits,
 * best first, and returns how many; 0 means no passage matches well enough
 * (the coach then says it has no vetted guidance). *age_out (may be NULL)
 * receives kb_parse_age. Not reentrant (one connection, one loop). */
size_t kb_search(struct kb *kb, const char *q, size_t len,
                 struct kb_hit *hits, size_t max, int *age_out);

/* When the best hit counts as "no good match": under KB_CONFIDENT_SCORE, a
 * passage that covers less than KB_MIN_COVERAGE of the question's
 * (rarity-weighted) words, or a score under KB_MIN_SCORE without covering
 * most of the question. Deliberately conservative: lexical scores cannot
 * tell "a question we have no passage for" from "a rambling question about
 * a topic we cover", and refusing a real question is worse than citing a
 * loosely related passage. Calibration in docs/knowledge-base.md. */
#define KB_MIN_SCORE 3.0
#define KB_CONFIDENT_SCORE 10.0
#define KB_MIN_COVERAGE 0.1
#define KB_FULL_COVERAGE 0.6
void kb_set_min_score(struct kb *kb, double score);

#endif

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
    int part;                       /* 0: for the whole question; k > 0: the
                                       best passage for its k-th part (of
                                       kb_split_parts), wherever it ranks */
    double lex;                     /* the score before the topic reader's
                                       boost (what the no-match figures read) */
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

/* The topic reader's features of text[0..len) (topicnet_features_norm)
 * with the words this knowledge base's query normalisation adds (its
 * synonyms, spelling fixes and UK/US spellings): the very features kb.c
 * scores with, for bench/topic_features.c and fitting. The words of a
 * figure of speech the search drops ("like cat and dog", "sick and
 * tired") are not read; its meaning, where it has one, is added. kb NULL:
 * the raw text's features, none added or skipped. Returns the number
 * emitted. */
size_t kb_topic_features(const struct kb *kb, const char *text, size_t len,
                         void (*emit)(const char *f, size_t n, void *arg), void *arg);

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
/* The same, but only an age stated as a number ("my 3yo", "18 months",
 * "six week old"): a stage word ("toddler", "teen") gives -1, since it
 * ranks passages but is no age to say back to the parent. Pure. */
int kb_stated_age(const char *q, size_t len);

/* What one search found, for the caller's answer and for calibration. */
#define KB_NEAR_TOPICS 3
struct kb_result {
    size_t nhits;                   /* hits written; 0 with nomatch */
    int age;                        /* kb_parse_age of the question */
    int nomatch;                    /* 1: the question has concepts, and no
                                       passage covers them well enough */
    int empty;                      /* 1: no concept words at all ("what should I do") */
    /* The nearest topics even when nothing matched (for "I can help with"
     * suggestions), primary topic ids, best first. */
    const char *near[KB_NEAR_TOPICS];
    size_t nnear;
    /* The question's key concept as the parent wrote it ("ear piercing"),
     * NUL-ended; "" when none. */
    char concept[96];
    /* The best candidate's figures (before the no-match decision). */
    double score;                   /* BM25 with the age factor */
    double about;                   /* share of the question's concepts in
                                       its title, keywords, asks, topics */
    double cover;                   /* the same over the whole passage */
    int key_about;                  /* the key concept is in those fields */
    double unit_sim;                /* cosine with its closest title, ask or
                                       keyword phrase */
    double about_w, cover_w;        /* the same as rarity sums, not shares */
    double unknown_share;           /* rarity share of the question's words
                                       that are not in the knowledge base */
    double consensus;               /* share of the top candidates' score on
                                       the best one's topic */
    int concepts, concepts_about, concepts_cover, unknown;
                                    /* concept counts; unknown: words not
                                       in the knowledge base at all */
    int key_full;                   /* the key concept is anywhere in it */
    double miss_max;                /* rarity (0..1) of the rarest concept it lacks */
    double topic_about;             /* share of the concepts its topic's leading
                                       passages' about-fields hold */
    double margin;                  /* runner-up's score over its score */
    int phrases, phrases_unknown;   /* the question's two-word phrases, and those
                                       no passage holds */
    int parts;                      /* parts the question was split into */
    int has_topic;                  /* 1: the topic reader scored the question */
    double topic_p;                 /* its P(the best passage's topic | question) */
    double topic_nomatch;           /* its P(nomatch | question) */
    double topic_top, topic_gap;    /* its largest P(topic | question) over the
                                       topics (nomatch not one), and that
                                       topic's lead over the second */
    double match_prob;              /* the no-match model's probability
                                       that the best candidate answers
                                       (kb_match_prob) */
    double match_prob_lex;          /* the same model without the topic
                                       reader's two figures
                                       (kb_match_prob_lex): the
                                       conversation reader's thresholds
                                       (convo.c) were chosen on it */
};

/* Searches for passages that answer the question. Writes up to max hits,
 * best first, and returns how many; 0 means no passage matches well enough
 * (the coach then says it has no vetted guidance). age_hint (months, or -1)
 * is the child's age when the question itself states none (a conversation
 * remembers it). res (may be NULL) gets
 * the details; its pointers live as long as the kb. Not reentrant (one
 * connection, one loop). */
size_t kb_search_ex(struct kb *kb, const char *q, size_t len, int age_hint,
                    struct kb_hit *hits, size_t max, struct kb_result *res);

/* The parts a question is split into for kb_hit.part: at question marks,
 * semicolons and before "also". Writes up to KB_MAX_PARTS [start, end)
 * byte ranges; returns how many. Pure. */
#define KB_MAX_PARTS 3
size_t kb_split_parts(const char *q, size_t len, size_t *st, size_t *en);
/* 1 when part [st, en) of q (from kb_split_parts) asks rather than tells:
 * a question mark follows it or it opens with a question word ("how",
 * "should", "any", "ideas"). "... car seat? we have a 4 hour drive" tells.
 * Pure. */
int kb_part_asks(const char *q, size_t len, size_t st, size_t en);

/* kb_search_ex at another no-match point: match_min (0 switches the model
 * off) in place of the kb's own, the rest of its thresholds as set. The kb
 * is not changed (a conversation's joined reading searches at its own
 * point without touching the shared thresholds). */
size_t kb_search_at(struct kb *kb, const char *q, size_t len, int age_hint, double match_min,
                    struct kb_hit *hits, size_t max, struct kb_result *res);

/* The share (0..1, rarity-weighted) of q's concepts that passage p's
 * about-fields (title, keywords, asks, topic labels) hold. */
double kb_about_share(struct kb *kb, const struct kb_passage *p, const char *q, size_t len);

/* The same share over the whole passage (its body and steps too): how much
 * of q the passage holds anywhere. */
double kb_cover_share(struct kb *kb, const struct kb_passage *p, const char *q, size_t len);

/* 1 when p's about-fields hold q's key concept (its rarest), else 0. */
int kb_about_key(struct kb *kb, const struct kb_passage *p, const char *q, size_t len);

/* kb_search_ex without details; *age_out (may be NULL) gets the age. */
size_t kb_search(struct kb *kb, const char *q, size_t len,
                 struct kb_hit *hits, size_t max, int *age_out);

/* The no-match rule, chosen on labelled development sets (method and
 * figures in docs/knowledge-base.md). The best passage is a match when the
 * no-match model (a logistic regression over the figures in kb_result:
 * BM25, coverage, likeness to a title or ask, topic consensus, unknown
 * words, the share of the question its topic's leading passages are
 * about, the question's concept count, the share of its two-word phrases
 * that no passage holds) gives it a probability of at least
 * match_min, and the hand rule
 * holds: at most unknown_max of the question's words (rarity-weighted) are
 * words the knowledge base never uses, and
 *   - the question is like one of its units (its title, one of its asks):
 *     likeness >= unit_sim_min,
 *   - or its about-fields (title, keywords, asks, topic labels) hold
 *     about_min of the question's concepts with a BM25 score of at least
 *     about_score_min,
 *   - or the whole passage holds cover_min of them with a score of at least
 *     cover_score_min, or full_min of them with a score of at least
 *     full_score_min (a short question fully answered).
 * The shipped point leaves the hand rule open and uses the model alone;
 * match_min 0 switches the model off. */
struct kb_thresholds {
    double unit_sim_min, about_min, about_score_min, cover_min, cover_score_min, unknown_max,
           full_min, full_score_min, match_min;
};
#define KB_THRESHOLDS_DEFAULT {0, 0, 0, 0, 0, 1e9, 0, 0, KB_MATCH_MIN}
#define KB_MATCH_MIN 0.32

/* The no-match model's probability for a result's figures (0..1). */
double kb_match_prob(const struct kb_result *r);
/* The eleven-figure model alone (KB_MODEL_WEIGHTS), whatever the topic
 * reader said. */
double kb_match_prob_lex(const struct kb_result *r);
void kb_set_thresholds(struct kb *kb, const struct kb_thresholds *th);
void kb_get_thresholds(const struct kb *kb, struct kb_thresholds *th);

#endif

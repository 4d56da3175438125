/* topicnet.h — a fitted topic reader for retrieval: which of the knowledge
 * base's topics (or none: "nomatch") a parent's question is about, read
 * from its words rather than from the passages BM25 happens to reach.
 *
 * A multinomial logistic regression (softmax over every topic id plus a
 * "nomatch" class) over the triage net's features (tmodel_features: words,
 * five-letter stems, neighbouring word pairs) less the function words,
 * plus the words kb.c's query normalisation adds (synonyms, spelling fixes,
 * UK/US spellings: topicnet_features_norm through kb_topic_features;
 * bench/topic_features.c prints them for fitting),
 * fitted offline by tests/eval/fit_topicnet.py on the passages' titles,
 * keywords and asks and on labelled development questions, and shipped as
 * kb/topic-model.tsv. kb.c loads it with the knowledge base and uses
 * P(topic | question) as a ranking signal and as an input of the no-match
 * model. Deterministic and offline.
 *
 * Scoring: z[c] = bias[c] + sum over the distinct features of the text that
 * the model knows of w[f][c] / sqrt(their number), then softmax.
 *
 * File format: a first line "# coachd topic model 1", comments ('#'), then
 * TAB-separated lines "bias<TAB>class<TAB>w" (one per class, before any
 * feature line: they declare the classes, at most TOPICNET_MAX_CLASS) and
 * "<feature><TAB>class<TAB>w" (the class declared). Memory: the model owns
 * everything it loads; callers own their text and the p arrays. Pure after
 * loading; safe to share across threads. */
#ifndef COACH_TOPICNET_H
#define COACH_TOPICNET_H

#include <stddef.h>

#define TOPICNET_MAX_CLASS 512
#define TOPICNET_NOMATCH "nomatch"

struct topicnet;

/* Loads path. Returns NULL and writes "path:line: message" to err (errlen
 * bytes) when the file is missing or malformed. */
struct topicnet *topicnet_load(const char *path, char *err, size_t errlen);
void topicnet_free(struct topicnet *m);

size_t topicnet_nclass(const struct topicnet *m);
/* The class's name (a topic id or "nomatch"), NULL when out of range. */
const char *topicnet_class_name(const struct topicnet *m, size_t cls);
/* The class index of a name, or -1. */
int topicnet_class(const struct topicnet *m, const char *name);

/* Calls emit(feature, length, arg) for each feature of text[0..len): the
 * triage net's (tmodel_features) without function words ("u:our"), their
 * five-letter stems ("p:shoul") and pairs of two function words
 * ("b:how_do"). Returns the number emitted. Pure. */
size_t topicnet_features(const char *text, size_t len,
                         void (*emit)(const char *f, size_t n, void *arg), void *arg);

/* The words a normaliser adds to a text: the knowledge base's synonyms,
 * spelling fixes and UK/US spellings (kb.c's query normalisation, through
 * kb_topic_features), so "colour" also reads as "color", "nappy" as
 * "diaper" and "dd" as "daughter". fn calls word(w, n, warg) for each word
 * of text[0..len) that it adds (not the ones written); arg is fn's and not
 * owned. NULL: no words added. */
struct topicnet_norm {
    void (*fn)(const char *text, size_t len, void (*word)(const char *w, size_t n, void *warg),
               void *warg, const void *arg);
    const void *arg;
};

/* topicnet_features, then "u:" and "p:" (the five-letter stem) of each word
 * norm adds (no pairs: an added word has no place in the text), less the
 * function words. Every fitting and scoring path goes through it
 * (bench/topic_features.c, kb.c). norm may be NULL. */
size_t topicnet_features_norm(const char *text, size_t len, const struct topicnet_norm *norm,
                              void (*emit)(const char *f, size_t n, void *arg), void *arg);

/* P(class | text) for every class into p[0 .. topicnet_nclass(m)), which
 * must have room for them. Returns the number of distinct features of the
 * text that the model knows (0: p is the prior, the softmax of the biases). */
size_t topicnet_score(const struct topicnet *m, const char *text, size_t len, double *p);
/* The same on topicnet_features_norm's features (norm may be NULL). */
size_t topicnet_score_norm(const struct topicnet *m, const struct topicnet_norm *norm,
                           const char *text, size_t len, double *p);

#endif

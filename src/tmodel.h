/* tmodel.h — a fitted net under the triage rules: five linear models
 * (emergency, crisis, medical, unsafe, out_of_scope) over a question's
 * words and word pairs.
 *
 * The rules in policy/safety.json decide first and always win; this model
 * only speaks when they found nothing as urgent as what it flags (safety.c's
 * apply_model says when exactly) and the text reads, by the weight of its
 * words, like the emergencies, crises, medical questions, harmful requests
 * or off-topic requests that parents wrote in the labelled development
 * sets. It is fitted offline
 * by tests/eval/fit_triage.py and shipped as a plain TSV
 * (policy/triage-model.tsv), so triage stays deterministic and offline.
 *
 * Features (tmodel_features), from text.c's words: each normalised word
 * ("u:"), its first five letters as a cheap stem ("p:", so "breathing" and
 * "breathe" share one), and each pair of neighbouring words within a clause
 * ("b:"); numbers read as "#". The fitting script reads the same features,
 * printed by bench/triage_features.c, so training and scoring cannot drift
 * apart.
 *
 * A class fires only when its probability reaches its threshold AND one
 * feature alone carries at least its "gate" weight: a sum of many weak
 * words ("thank you, I needed to hear that") is not an alarm; one alarming
 * word or pair must be there.
 *
 * File format: a first line "# coachd triage model 1", then TAB-separated
 * lines "threshold<TAB>class<TAB>p" (class: emergency, crisis,
 * medical, unsafe, out_of_scope; a file may give only some: the others
 * never fire), "gate<TAB>class<TAB>w",
 * "bias<TAB>class<TAB>w" and "<feature><TAB>class<TAB>w". Memory: the
 * model owns everything; callers own their text. Pure after loading; safe to share across threads. */
#ifndef COACH_TMODEL_H
#define COACH_TMODEL_H

#include <stddef.h>

struct tmodel;

enum { TMODEL_EMERGENCY, TMODEL_CRISIS, TMODEL_MEDICAL, TMODEL_UNSAFE, TMODEL_OUT_OF_SCOPE,
       TMODEL_NCLASS };

/* The class's name in the model file ("out_of_scope"), NULL when out of range. */
const char *tmodel_class_name(int cls);

/* Loads path. Returns NULL and writes a message to err (errlen bytes) when
 * the file is missing or malformed. */
struct tmodel *tmodel_load(const char *path, char *err, size_t errlen);
void tmodel_free(struct tmodel *m);

/* The length in bytes of the first five letters (UTF-8 characters) of
 * w[0..n) when it has at least six, else 0: the "p:" feature's stem. Pure. */
size_t tmodel_prefix5(const char *w, size_t n);

/* Calls emit(feature, length, arg) for each feature of text[0..len): at
 * most TMODEL_MAX_WORDS words are read. Returns the number emitted. Pure. */
#define TMODEL_MAX_WORDS 400
size_t tmodel_features(const char *text, size_t len,
                       void (*emit)(const char *f, size_t n, void *arg), void *arg);

/* The probability of each class for text, in p[TMODEL_NCLASS]. */
void tmodel_score(const struct tmodel *m, const char *text, size_t len, double *p);

/* Scores text once: the probabilities in p[TMODEL_NCLASS], and in
 * flags[TMODEL_NCLASS] 1 for each class flagged: probability at the
 * threshold, one feature at the gate, and at least TMODEL_MIN_WORDS
 * (TMODEL_MIN_WORDS_REFUSE for the refusal classes) distinct words the
 * model knows. */
#define TMODEL_MIN_WORDS 5
/* The refusal classes (medical, unsafe, out_of_scope) need more: a short
 * turn ("my 2 year old has a cold", "should I just carry her to the
 * car?") is ordinary in its conversation, which the net cannot see; the
 * rules still read it. */
#define TMODEL_MIN_WORDS_REFUSE 8
void tmodel_flags(const struct tmodel *m, const char *text, size_t len, double *p, int *flags);

/* The class's threshold from the file (1.0 when none was given: never). */
double tmodel_threshold(const struct tmodel *m, int cls);

#endif

/* engine_openai.h — the OpenAI-compatible streaming engine (see
 * engine_openai.c). */
#ifndef COACH_ENGINE_OPENAI_H
#define COACH_ENGINE_OPENAI_H

#include <stddef.h>

struct event_base;
struct config;
struct safety_policy;
struct engine;

/* Creates the engine from the configuration (base URL, key, model,
 * timeouts, prompt file); policy holds its output rules (filter.c).
 * Returns NULL with a message in err. */
struct engine *engine_openai_new(struct event_base *base, const struct config *cfg,
                                 const struct safety_policy *policy, char *err, size_t errlen);

#endif

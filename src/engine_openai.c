/* engine_openai.c — placeholder until the OpenAI-compatible engine lands:
 * selecting it fails start-up with a clear message. */
#include "engine_openai.h"

#include <stdio.h>

struct engine *engine_openai_new(struct event_base *base, const struct config *cfg,
                                 const struct kb *kb, const struct safety_policy *policy,
                                 struct store *store, char *err, size_t errlen)
{
    snprintf(err, errlen, "the openai engine is not available in this build yet");
    return NULL;
}

# coachd — build, run and test.
#
#   make            build ./coachd (warnings on; WERROR=1 turns them into errors)
#   make run        install missing Debian packages, build, start on the defaults
#   make test       every test: unit (cmocka), evaluations, end-to-end, browser,
#                   all against the sanitizer build (ASan + UBSan)
#   make asan       build the sanitizer variant only (build/asan/coachd)
#   make e2e-pg     the store's tests against a throw-away PostgreSQL (in check)
#   make bench      run the benchmarks under bench/
#   make fuzz       build and run the libFuzzer drivers for a short while
#   make kb-links   check every knowledge-base URL over the network
#   make vendor     refresh the page's vendored markdown-it (web/) from npm;
#                   the copy is committed, so make run needs no npm
#   make test-llama the openai engine against the real llama.cpp server with a
#                   tiny hand-built model (root; see tests/llama/README.md)
#
# SANITIZER=address,undefined builds every object with those sanitizers into
# build/asan/ so the normal and sanitized builds never mix.

CC        ?= cc
PKGS      := libevent libcurl sqlite3 libpq jansson libcjson hunspell
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

# Redis-style: CFLAGS and LDFLAGS are the caller's (optimisation, debug,
# extra warnings); the project's own flags are always added in FINAL_CFLAGS
# and FINAL_LDFLAGS, so `make CFLAGS=-O0` cannot drop -std=c11, -D_GNU_SOURCE,
# -Isrc, -pthread or the warnings.
ifeq ($(origin CFLAGS),undefined)
CFLAGS    := $(if $(SANITIZER),-O1,-O2) -g
endif
LDFLAGS   ?=
STD_CFLAGS := -pthread -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wno-unused-parameter \
             -Wstrict-prototypes -Wmissing-prototypes -fno-strict-aliasing -Isrc
ifeq ($(WERROR),1)
STD_CFLAGS += -Werror
endif
FINAL_LIBS := $(PKG_LIBS) -lm -pthread $(LDLIBS)

ifneq ($(SANITIZER),)
BUILD     := build/asan
SAN_CFLAGS := -fno-omit-frame-pointer -fsanitize=$(SANITIZER) -fno-sanitize-recover=undefined
SAN_LDFLAGS := -fsanitize=$(SANITIZER)
else
BUILD     := build/release
endif
FINAL_CFLAGS  := $(STD_CFLAGS) $(SAN_CFLAGS) $(PKG_CFLAGS) $(CFLAGS)
FINAL_LDFLAGS := $(LDFLAGS) $(SAN_LDFLAGS) -pthread

SRCS      := $(wildcard src/*.c)
OBJS      := $(patsubst src/%.c,$(BUILD)/%.o,$(SRCS))
LIBOBJS   := $(filter-out $(BUILD)/main.o,$(OBJS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
EVAL_SRCS := $(wildcard tests/eval/*.c)
EVAL_BINS := $(patsubst tests/eval/%.c,$(BUILD)/tests/eval_%,$(EVAL_SRCS))

PORT      ?= 8080
ASAN_ENV  := ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1 \
             UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

.PHONY: FORCE all run test asan deps test-deps unit eval e2e e2e-pg browser test-llama bench fuzz clean check kb-links vendor triage-model topic-model topic-model-check nomatch-fit

all: coachd

coachd: $(BUILD)/coachd
	@if [ "$(BUILD)" = build/release ]; then cp $< $@.tmp && mv -f $@.tmp $@; fi

$(BUILD)/coachd: $(OBJS)
	$(CC) $(FINAL_LDFLAGS) -o $@ $^ $(FINAL_LIBS)

# Every object is rebuilt when the flags change (Redis' .make-settings).
$(BUILD)/.flags: FORCE | $(BUILD)
	@echo '$(CC) $(FINAL_CFLAGS) $(FINAL_LDFLAGS) $(FINAL_LIBS)' | cmp -s - $@ || \
	  echo '$(CC) $(FINAL_CFLAGS) $(FINAL_LDFLAGS) $(FINAL_LIBS)' > $@

FORCE:

# Header dependencies come from -MMD alone (the .d files included below).
$(BUILD)/%.o: src/%.c $(BUILD)/.flags | $(BUILD)
	$(CC) $(FINAL_CFLAGS) -MMD -MP -c -o $@ $<

# Unit tests #include the module sources they test (h2o style) so they can
# reach static functions; each links only the libraries, and the pattern
# module as an archive: a test that includes safety.c takes pattern.o from
# it, one that includes pattern.c (test_pattern) or neither takes nothing.
# Their dependencies (the included .c files and headers) come from -MMD too.
$(BUILD)/tests/test_%: tests/unit/test_%.c $(BUILD)/libpattern.a $(BUILD)/.flags | $(BUILD)/tests
	$(CC) $(FINAL_CFLAGS) -Itests/unit -MMD -MP $(FINAL_LDFLAGS) -o $@ $< $(BUILD)/libpattern.a $(FINAL_LIBS) $(CMOCKA_LIBS)

$(BUILD)/libpattern.a: $(BUILD)/pattern.o
	rm -f $@ && ar rcs $@ $^

$(BUILD)/tests/eval_%: tests/eval/%.c $(LIBOBJS) $(BUILD)/.flags | $(BUILD)/tests
	$(CC) $(FINAL_CFLAGS) -MMD -MP $(FINAL_LDFLAGS) -o $@ $< $(LIBOBJS) $(FINAL_LIBS)

# A test client for the slow-reader test (plain C, no project code).
$(BUILD)/tests/slowclient: tests/e2e/slowclient.c | $(BUILD)/tests
	$(CC) $(FINAL_CFLAGS) $(FINAL_LDFLAGS) -o $@ $<

# The relay load generator is plain libevent: none of coachd's objects.
$(BUILD)/bench_relayload: bench/relayload.c | $(BUILD)
	$(CC) $(FINAL_CFLAGS) $(FINAL_LDFLAGS) -o $@ $< $(PKG_LIBS) -lm

# The glossary reader includes safety.c (as the unit tests do) to reach its
# tokeniser, so it links only the libraries and the pattern archive.
$(BUILD)/bench_glossread $(BUILD)/bench_langgate: $(BUILD)/bench_%: bench/%.c src/safety.c src/gloss.c src/spell.c src/text.c src/tmodel.c $(BUILD)/libpattern.a $(BUILD)/.flags | $(BUILD)
	$(CC) $(FINAL_CFLAGS) $(FINAL_LDFLAGS) -o $@ $< $(BUILD)/libpattern.a $(FINAL_LIBS)

$(BUILD)/bench_%: bench/%.c $(LIBOBJS) | $(BUILD)
	$(CC) $(FINAL_CFLAGS) $(FINAL_LDFLAGS) -o $@ $< $(LIBOBJS) $(FINAL_LIBS)

$(BUILD) $(BUILD)/tests:
	mkdir -p $@

-include $(OBJS:.o=.d) $(UNIT_BINS:=.d) $(EVAL_BINS:=.d)

deps:
	@sh scripts/deps.sh build

test-deps:
	@sh scripts/deps.sh test

run: deps
	@$(MAKE) --no-print-directory coachd
	./coachd --port $(PORT)

asan:
	@$(MAKE) --no-print-directory SANITIZER=address,undefined build/asan/coachd

# The whole suite. The release build is compiled with -Werror as a gate, then
# every test runs against the sanitizer build.
test: test-deps
	@$(MAKE) --no-print-directory WERROR=1 coachd
	@$(MAKE) --no-print-directory WERROR=1 SANITIZER=address,undefined check

check: $(BUILD)/coachd $(UNIT_BINS) $(EVAL_BINS) $(BUILD)/tests/slowclient
	@echo "== unit tests ($(BUILD))"
	@set -e; for t in $(UNIT_BINS); do $(ASAN_ENV) $$t; done
	@echo "== evaluations"
	@set -e; for t in $(EVAL_BINS); do $(ASAN_ENV) $$t; done
	@echo "== end-to-end tests"
	@$(ASAN_ENV) COACHD_BIN=$(CURDIR)/$(BUILD)/coachd SLOWCLIENT=$(CURDIR)/$(BUILD)/tests/slowclient \
		node --test --test-concurrency=1 tests/e2e/
	@echo "== PostgreSQL: store unit tests and the store-relevant end-to-end tests"
	@$(MAKE) --no-print-directory e2e-pg
	@echo "== browser tests"
	@$(ASAN_ENV) COACHD_BIN=$(CURDIR)/$(BUILD)/coachd node --test --test-concurrency=1 tests/browser/

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do $(ASAN_ENV) $$t; done

eval: $(EVAL_BINS)
	@set -e; for t in $(EVAL_BINS); do $$t; done
	@sh tests/eval/check_fit_inputs.sh

e2e: $(BUILD)/coachd $(BUILD)/tests/slowclient
	COACHD_BIN=$(CURDIR)/$(BUILD)/coachd SLOWCLIENT=$(CURDIR)/$(BUILD)/tests/slowclient \
		node --test --test-concurrency=1 tests/e2e/

# The store unit tests and the end-to-end files that exercise the store, on
# a throw-away PostgreSQL (scripts/pgtmp.sh: initdb in /tmp, loopback, a
# free port, stopped at the end). The rest of the suite is store-agnostic.
PG_E2E := tests/e2e/api.test.mjs tests/e2e/resume.test.mjs tests/e2e/conversation.test.mjs \
          tests/e2e/shutdown.test.mjs tests/e2e/durable.test.mjs tests/e2e/cluster.test.mjs
e2e-pg: $(BUILD)/coachd $(BUILD)/tests/test_store_pg
	@sh scripts/pgtmp.sh run sh -c '$(ASAN_ENV) $(BUILD)/tests/test_store_pg && \
	  $(ASAN_ENV) COACHD_BIN=$(CURDIR)/$(BUILD)/coachd node --test --test-concurrency=1 $(PG_E2E)'

browser: $(BUILD)/coachd
	COACHD_BIN=$(CURDIR)/$(BUILD)/coachd node --test --test-concurrency=1 tests/browser/

# coachd --engine openai against llama.cpp's llama-server (Debian sid chroot in
# build/llama-sid, made on first use; LLAMA_SID, COACHD_BIN override).
test-llama:
	@bash tests/llama/run.sh

bench: deps coachd $(BUILD)/bench_retrieval $(BUILD)/bench_storecost
	@sh bench/run.sh

# Every knowledge-base URL over the network (needs network; not in make test).
# Refit the triage net (policy/triage-model.tsv) on the labelled safety sets,
# the shipped recipe: medical, unsafe and out of scope refitted (three
# shuffle orders averaged), emergency and crisis kept from the current model
# (docs/safety.md, session 10 lead and session 11 net37); the refusal
# thresholds at 0.6% of the ordinary questions out of fold (session 12,
# net39). pypy3 when installed: the same model byte for byte, four times
# faster.
triage-model:
	@PYTHON=$$(command -v pypy3 || echo python3) KEEP_FROM=policy/triage-model.tsv \
	  KEEP_CLASSES="emergency crisis" sh scripts/fit-triage.sh --seeds 3 --max-fpr-refuse 0.006

# Refit the topic reader (kb/topic-model.tsv) the documented way (about two
# minutes); topic-model-check fits to a temporary file and says whether it
# reproduces the shipped one byte for byte.
topic-model:
	@sh scripts/fit-topic-model.sh

topic-model-check:
	@CHECK=1 sh scripts/fit-topic-model.sh

# Refit the no-match weights (KB_MODEL_TN_WEIGHTS) out of fold: readers A, B
# and N, stale-free dumps, fit_nomatch.py --topic --cv; prints the weights
# (about six minutes; changes no tracked file).
nomatch-fit:
	@sh scripts/fit-nomatch.sh

kb-links:
	@sh scripts/kb-links.sh kb

fuzz:
	@sh scripts/deps.sh fuzz
	@$(MAKE) --no-print-directory -f fuzz/Makefile run

# markdown-it's browser build (self-contained: its dependencies are bundled),
# its licence, and the version, from the exact version in package.json.
vendor:
	npm install --no-audit --no-fund
	cp node_modules/markdown-it/dist/browser/markdown-it.umd.min.js web/markdown-it.min.js
	for d in markdown-it entities linkify-it mdurl punycode.js uc.micro; do \
	  printf '==== %s ====\n' $$d; cat node_modules/$$d/LICENSE*; echo; done > web/markdown-it.LICENSE.txt
	node -e 'const p=require("./node_modules/markdown-it/package.json");require("fs").writeFileSync("web/markdown-it.VERSION.txt","markdown-it "+p.version+" ("+p.license+"), npm, dist/browser/markdown-it.umd.min.js; bundles its MIT/BSD-2 dependencies (entities, linkify-it, mdurl, punycode.js, uc.micro). Refresh with: make vendor\n")'

clean:
	rm -rf build coachd

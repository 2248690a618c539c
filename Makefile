# ganc: build, test and demo. `make` builds build/ganc; `make test` runs the suite; `make demo`
# runs an experiment end to end. Both install missing Debian packages first (`make deps`).

CC      ?= cc
CFLAGS  ?= -O2 -g
CFLAGS  += $(SAN) -std=c11 -Wall -Wextra -D_GNU_SOURCE
# The walls (tests/walls.sh): the runtime is compiled seeing only runtime/, the compiler and the
# tests see both; `make walls` checks what each file includes, and build/ganc needs it to pass.
RT_CFLAGS := $(CFLAGS) -Iruntime
CFLAGS  += -I$(B) -Icompiler -Iruntime
LLVM_CONFIG ?= llvm-config-19
LLVM_CFLAGS = $(shell $(LLVM_CONFIG) --cflags 2>/dev/null | sed 's/-std=[^ ]*//')
# LLVM's static libraries: ganc starts in 0.04 s instead of 0.08 (libLLVM.so's 340,000
# relocations are most of a small compilation's start-up; docs/performance.md, "Compile time").
LLVM_LIBS = $(shell $(LLVM_CONFIG) --link-static --ldflags --libs core native passes target 2>/dev/null) \
            $(shell $(LLVM_CONFIG) --link-static --system-libs 2>/dev/null) -lstdc++
LDLIBS  += -lopenblas -ldnnl -lgomp -lsleef -lpng -lz -lm

B := build
DEB_PACKAGES := llvm-19-dev libzstd-dev flex bison libopenblas-dev zlib1g-dev libpng-dev pkg-config valgrind dataset-fashion-mnist strace graphviz libdnnl-dev \
                libopenmpi-dev openmpi-bin libsleef-dev
# Only the tests need these: a browser that loads `ganc report`'s page (tests/report.sh).
DEB_TEST_PACKAGES := chromium

COMPILER_C := $(filter-out compiler/main.c,$(wildcard compiler/*.c))
SHARED_RT_C := runtime/guard.c runtime/policy.c runtime/rng.c runtime/samplers.c runtime/safetensors.c runtime/fill.c runtime/metrics.c runtime/dataset.c runtime/png.c
GEN_C := $(B)/parser.c $(B)/lexer.c $(B)/stdlib_embed.c
LIB_OBJ := $(patsubst %.c,$(B)/%.o,$(COMPILER_C) $(SHARED_RT_C)) \
           $(B)/parser.o $(B)/lexer.o $(B)/stdlib_embed.o

.PHONY: all deps test-deps test demo clean walls bench asan fuzz-libfuzzer fuzz-afl
all: $(B)/ganc

# Install the Debian packages the project needs, only when one is missing (test-deps: and the
# ones only the tests need).
deps test-deps:
	@missing=""; for p in $(DEB_PACKAGES) $(if $(filter test-deps,$@),$(DEB_TEST_PACKAGES)); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(B)/runtime/%.o: runtime/%.c
	@mkdir -p $(dir $@)
	$(CC) $(RT_CFLAGS) -MMD -MP -c $< -o $@

walls:
	WALLS_NO_SELFTEST=1 sh tests/walls.sh
$(B)/walls.ok: tests/walls.sh $(wildcard compiler/*.[chly] runtime/*.[ch])
	@mkdir -p $(B)
	@WALLS_NO_SELFTEST=1 sh tests/walls.sh > $(B)/walls.out || { grep '^not ok' $(B)/walls.out; exit 1; }
	@touch $@

$(B)/parser.c $(B)/parser.h: compiler/parser.y
	@mkdir -p $(B)
	bison -Wall --defines=$(B)/parser.h -o $(B)/parser.c $<

$(B)/lexer.c $(B)/lexer.h: compiler/lexer.l
	@mkdir -p $(B)
	flex --header-file=$(B)/lexer.h -o $(B)/lexer.c $<

# The stdlib is embedded in the compiler so build/ganc works from any directory.
$(B)/stdlib_embed.c: $(wildcard stdlib/*.gan) tests/embed.sh
	@mkdir -p $(B)
	sh tests/embed.sh stdlib/*.gan > $@

# -MMD: they include compiler headers (arena.h, ast.h) and must rebuild when those change.
$(B)/parser.o: $(B)/parser.c $(B)/lexer.h
	$(CC) $(CFLAGS) -MMD -MP -Wno-unused-function -c $< -o $@
$(B)/lexer.o: $(B)/lexer.c $(B)/parser.h
	$(CC) $(CFLAGS) -MMD -MP -Wno-unused-function -Wno-sign-compare -c $< -o $@
$(B)/stdlib_embed.o: $(B)/stdlib_embed.c
	$(CC) $(CFLAGS) -c $< -o $@
$(patsubst %.c,$(B)/%.o,$(COMPILER_C)) $(B)/compiler/main.o: $(B)/parser.h $(B)/lexer.h

$(B)/libganc.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(B)/compiler/codegen.o $(B)/compiler/emit.o $(B)/compiler/modeldata.o $(B)/compiler/target.o: $(B)/compiler/%.o: compiler/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LLVM_CFLAGS) -MMD -MP -c $< -o $@

# The run record and the sample plots (runtime/record.h, runtime/plot.h).
RECORD_RT_C := runtime/sha256.c runtime/record.c runtime/plot.c

# The version a run records (runtime/record.c): `git describe` and the commit at build time,
# "unknown" outside a git checkout. Rewritten only when it changes, so nothing rebuilds needlessly.
$(B)/version.h: FORCE
	@mkdir -p $(B)
	@v=$$(git describe --tags --always --dirty 2>/dev/null || echo unknown); \
	c=$$(git rev-parse HEAD 2>/dev/null || echo unknown); \
	printf '#define GANC_VERSION "%s"\n#define GANC_COMMIT "%s"\n' "$$v" "$$c" > $@.tmp; \
	if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi
$(B)/runtime/record.o: $(B)/version.h
$(B)/runtime/record.o: RT_CFLAGS += -I$(B)
.PHONY: FORCE
FORCE:

# dist.c includes Open MPI's mpi.h for its types; libmpi itself is opened at run time (dist.h).
MPI_CFLAGS = $(shell pkg-config --cflags ompi-c 2>/dev/null)
$(B)/runtime/dist.o: runtime/dist.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(MPI_CFLAGS) -MMD -MP -c $< -o $@

# libganrt: what every generated executable links with.
RUNTIME_C := $(SHARED_RT_C) runtime/kernels.c runtime/gemm.c runtime/conv_dnnl.c runtime/pool.c runtime/fid.c runtime/ganrt.c runtime/load.c runtime/options.c runtime/train.c runtime/logs.c runtime/checkpoint.c \
             runtime/dist.c $(RECORD_RT_C)
$(B)/libganrt.a: $(patsubst %.c,$(B)/%.o,$(RUNTIME_C))
	rm -f $@  # a fresh archive: a member of a file since renamed would linger and clash
	ar rcs $@ $^

# -no-pie: a position-independent ganc would relocate LLVM's tables at every start (0.008 s).
$(B)/ganc: $(B)/compiler/main.o $(B)/libganc.a $(B)/libganrt.a $(B)/walls.ok
	$(CC) $(CFLAGS) -no-pie -o $@ $(B)/compiler/main.o $(B)/libganc.a $(LLVM_LIBS) $(LDLIBS)

$(B)/test_ops: tests/test_ops.c $(B)/libganc.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/test_plan: tests/test_plan.c $(B)/libganc.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/test_runtime: tests/test_runtime.c $(patsubst %.c,$(B)/%.o,$(SHARED_RT_C))
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# The domain-FID classifier, trained once by ganc itself and cached (examples/fmnist_classifier.gan).
$(B)/fmnist_classifier.safetensors: examples/fmnist_classifier.gan stdlib/fmnist.gan $(B)/ganc
	$(B)/ganc examples/fmnist_classifier.gan -O3 -o $(B)/fmnist_classifier
	$(B)/fmnist_classifier --out $(B)/fmnist_classifier_run --quiet --threads $$(nproc)
	cp $(B)/fmnist_classifier_run/ckpt/last.safetensors $@

# The machine's sgemm ceiling, for `make bench`.
$(B)/sgemm_peak: bench/sgemm_peak.c
	@mkdir -p $(B)
	$(CC) $(CFLAGS) -o $@ $< -lopenblas -ldnnl -lgomp

# ganc against PyTorch on the six workloads of issue 10 (not part of `make test`; minutes).
bench: $(B)/ganc $(B)/sgemm_peak
	sh bench/run.sh

# The builds use every core (CI runs a plain `make test`); the suite's parts run their own jobs.
# One make for everything the suite needs, the sanitizer build (asan) included: its compiles fill
# the cores while the classifier trains and the test binaries link (two makes in a row left a
# core idle at each one's end).
test: test-deps
	$(MAKE) --no-print-directory -j$$(nproc) $(B)/ganc $(B)/test_ops $(B)/test_runtime $(B)/test_eval $(B)/test_kernels \
	    $(B)/test_ganrt $(B)/test_data $(B)/test_fid $(B)/test_losses $(B)/fmnist_classifier.safetensors \
	    $(B)/test_record $(B)/png_ink $(B)/test_language $(B)/test_dist \
	    $(B)/test_plan $(B)/mutants asan
	sh tests/run.sh

demo: deps
	$(MAKE) --no-print-directory $(B)/ganc
	sh tests/demo.sh

clean:
	rm -rf $(B) build-asan build-fuzz build-afl

-include $(shell find $(B) -name '*.d' 2>/dev/null)

$(B)/test_eval: tests/test_eval.c $(B)/runtime/safetensors.o
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/test_kernels: tests/test_kernels.c $(B)/runtime/kernels.o $(B)/runtime/gemm.o $(B)/runtime/conv_dnnl.o $(B)/runtime/pool.o $(B)/libganc.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(B)/fake_model_f32: tests/fake_model.c $(B)/libganrt.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(B)/fake_model_f64: tests/fake_model.c $(B)/libganrt.a
	$(CC) $(CFLAGS) -DFAKE_F64 -o $@ $^ $(LDLIBS)
$(B)/test_ganrt: tests/test_ganrt.c $(B)/libganrt.a $(B)/fake_model_f32 $(B)/fake_model_f64
	$(CC) $(CFLAGS) -o $@ tests/test_ganrt.c $(B)/libganrt.a $(LDLIBS)
# The collectives under mpirun (tests/mpi.sh).
$(B)/test_dist: tests/test_dist.c $(B)/libganrt.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/test_losses: tests/test_losses.c $(B)/runtime/safetensors.o
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/test_language: tests/test_language.c $(B)/runtime/safetensors.o
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/test_fid: tests/test_fid.c runtime/fid.c
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# Data sets (IDX/NPY), file and labels leaves, PNG grids: on the installed Fashion-MNIST files.
$(B)/test_data: tests/test_data.c $(patsubst %.c,$(B)/%.o,$(SHARED_RT_C))
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# make results: trains the toy examples and the Fashion-MNIST GANs natively over seeds 1-3 and
# writes docs/results.md (about 25 + 30 minutes on two cores); each half also runs alone.
.PHONY: results results-toys results-fmnist
results: results-toys results-fmnist
results-toys:
	sh bench/results.sh
results-fmnist:
	sh bench/results_fmnist.sh

# The run record and the plots (tests/test_record.c), without a compiled model.
$(B)/test_record: tests/test_record.c $(patsubst %.c,$(B)/%.o,$(RECORD_RT_C) runtime/png.c)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(B)/png_ink: tests/png_ink.c $(B)/runtime/png.o
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# ----- fuzzing and sanitizers (tests/fuzz/fuzz.h) -----------------------------------------------
# One fuzz target per input reader: the front end, safetensors, the IDX, NPY and gzip data
# readers (tests/fuzz/dataset.c built with FORMAT 1, 2, 3). (The model contract is a C struct
# the compiler hands the runtime, runtime/contract.h: no bytes to parse, so no target.)
# FUZZ_MAIN is driver.c's main (AFL++
# and corpus replay); libFuzzer brings its own.
FUZZ_TARGETS := frontend safetensors idx npy gzip
FUZZ_MAIN ?= tests/fuzz/driver.c
FUZZ_LINK ?=
FUZZ_CFLAGS = $(CFLAGS) -Itests/fuzz
$(B)/fuzz/frontend: tests/fuzz/frontend.c $(FUZZ_MAIN) $(B)/libganc.a
	@mkdir -p $(dir $@)
	$(CC) $(FUZZ_CFLAGS) $(FUZZ_LINK) -o $@ $(filter %.c %.a,$^) $(LDLIBS)
$(B)/fuzz/safetensors: tests/fuzz/safetensors.c $(FUZZ_MAIN) $(B)/runtime/safetensors.o
	@mkdir -p $(dir $@)
	$(CC) $(FUZZ_CFLAGS) $(FUZZ_LINK) -o $@ $^ $(LDLIBS)
$(B)/fuzz/idx $(B)/fuzz/npy $(B)/fuzz/gzip: $(B)/fuzz/%: tests/fuzz/dataset.c $(FUZZ_MAIN) $(B)/runtime/dataset.o
	@mkdir -p $(dir $@)
	$(CC) $(FUZZ_CFLAGS) $(FUZZ_LINK) -DFORMAT=$(if $(filter idx,$*),1,$(if $(filter npy,$*),2,3)) -o $@ $^ $(LDLIBS)

# tests/robustness.sh's engine: every mutant of every example through the front end, forked.
$(B)/mutants: tests/fuzz/mutants.c tests/fuzz/frontend.c $(B)/libganc.a
	$(CC) $(FUZZ_CFLAGS) -o $@ $^ $(LDLIBS)

# make asan: the compiler, the runtime and the fuzz targets with AddressSanitizer and UBSan in
# build-asan/; build-asan/cc links generated executables with the sanitizer runtime
# (CC=build-asan/cc build-asan/ganc FILE.gan -o EXE). `make test` replays the corpora with it.
ASAN_FLAGS := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
asan:
	$(MAKE) --no-print-directory B=build-asan SAN="$(ASAN_FLAGS)" build-asan/ganc build-asan/libganrt.a \
	    $(addprefix build-asan/fuzz/,$(FUZZ_TARGETS))
	printf '#!/bin/sh\nexec %s %s "$$@"\n' "$(CC)" "$(ASAN_FLAGS)" > build-asan/cc && chmod +x build-asan/cc

# Campaigns, outside CI: libFuzzer (clang-19) in build-fuzz/, AFL++ in build-afl/, e.g.
#   build-fuzz/fuzz/npy -runs=1000000 tests/fuzz/corpus/npy
#   afl-fuzz -i tests/fuzz/corpus/npy -o /tmp/afl-npy -- build-afl/fuzz/npy
# Without ASan's use-after-return stacks: the front end's errors longjmp out of deep frames,
# whose fake frames then pile up; with them the front-end target spent 62% of its time in
# __asan_stack_malloc_1 after 100k inputs (4x slower).
fuzz-libfuzzer:
	$(MAKE) --no-print-directory B=build-fuzz CC=clang-19 \
	    SAN="-O1 -g -fsanitize=fuzzer-no-link,address,undefined -fsanitize-address-use-after-return=never" \
	    FUZZ_MAIN= FUZZ_LINK=-fsanitize=fuzzer $(addprefix build-fuzz/fuzz/,$(FUZZ_TARGETS))
fuzz-afl:
	$(MAKE) --no-print-directory B=build-afl CC=afl-clang-fast $(addprefix build-afl/fuzz/,$(FUZZ_TARGETS))

# The A/B benchmark, included from the top-level Makefile.
#
#   make bench-ab BASE=<git rev> [BENCH_AB_ARGS="--rounds 10"]
#
# Builds the release of BASE (A, before) in a git worktree at $(BENCH_AB_TREE)
# (kept between runs, so the next run rebuilds only what changed) and the
# release of this tree as it is (B, after, uncommitted changes included), then
# runs tools/bench_ab.py: both builds' daemons alternated ABAB… on one network
# of namespaces, their carrier switch, UDP outage, PTA takeover, idle CPU and
# resident memory side by side. Writes bench/results-ab/. Needs root.
# Both builds use the dependency versions of this tree's Package.resolved.

BENCH_AB_TREE ?= .build-ab/base
BENCH_AB_ARGS ?=

.PHONY: bench-ab

bench-ab: deps
	@[ -n "$(BASE)" ] || { echo "make bench-ab: name the build to compare with: make bench-ab BASE=<git rev>" >&2; exit 2; }
	@[ "$$(id -u)" = 0 ] || { echo "make bench-ab needs root (network namespaces)" >&2; exit 1; }
	@set -e; \
	rev=$$(git rev-parse --verify --quiet "$(BASE)^{commit}") || { echo "make bench-ab: BASE=$(BASE) is not a commit of this repository" >&2; exit 2; }; \
	if [ -e "$(BENCH_AB_TREE)/.git" ]; then git -C "$(BENCH_AB_TREE)" checkout -q --force --detach "$$rev"; \
	else git worktree prune; git worktree add -q --detach "$(BENCH_AB_TREE)" "$$rev"; fi; \
	if [ -f Package.resolved ]; then cp Package.resolved "$(BENCH_AB_TREE)/"; fi; \
	a=$$(git rev-parse --short=12 "$$rev"); case "$$a" in "$(BASE)"*) ;; *) a="$(BASE) $$a" ;; esac; \
	start=$$(date +%s); \
	echo "== A: release build of $$a in $(BENCH_AB_TREE)"; \
	(cd "$(BENCH_AB_TREE)" && $(SWIFT) build -c release); \
	echo "== B: release build of this tree"; \
	$(SWIFT) build -c release; \
	echo "release builds: $$(( $$(date +%s) - start )) s"; \
	python3 tools/bench_ab.py --a "$(BENCH_AB_TREE)/.build/release/hanet" --a-name "$$a" \
	  --b .build/release/hanet --b-name "this tree $$(sh scripts/build-info.sh commit)" $(BENCH_AB_ARGS)

# Mount allowlist: the cost of one mount decision (full check: realpath, pin, rules,
# mount table) for an allowed and for denied paths.
squadbox_bench(bench_allowlist SOURCES allowlist_bench.cpp LIBS sb_allowlist)

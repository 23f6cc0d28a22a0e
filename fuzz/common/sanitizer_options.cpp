// Sanitizer defaults linked into every fuzz target, so that a target run by hand behaves
// as under CTest or deploy/fuzz.sh: every UBSan report stops it (a crash input for
// libFuzzer) except the third-party ones listed in fuzz/ubsan.supp. UBSAN_OPTIONS in the
// environment still overrides single options.
extern "C" const char* __ubsan_default_options() {
  return "halt_on_error=1:print_stacktrace=1:suppressions=" SB_FUZZ_UBSAN_SUPPRESSIONS;
}

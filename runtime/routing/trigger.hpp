#pragma once
// The trigger rule's text matching: does a message contain the namespace's trigger
// ("@Andy") as a token of its own?
#include <string>
#include <string_view>

namespace sb::routing {

// ASCII letters lowercased; every other byte (UTF-8 included) unchanged.
std::string fold_ascii(std::string_view s);

// Whether a code point continues a word: ASCII letters, digits and '_', and every
// non-ASCII code point except spaces, punctuation and symbols in the blocks listed in
// trigger.cpp (so "@andyé" is one word but "@andy…", "@andy。" and "@andy👋" end at y).
bool is_word_code_point(char32_t cp);

// True when `text` contains `folded_trigger` (already fold_ascii'd, non-empty),
// compared ASCII-case-insensitively, with neither neighbour a word code point:
// "@andy" is found in "hey @Andy," and "@ANDY" but not in "@andyx" or "me@andy".
// Non-ASCII letters compare byte for byte. Invalid UTF-8 neighbours count as non-word.
bool contains_trigger(std::string_view text, std::string_view folded_trigger);

}  // namespace sb::routing

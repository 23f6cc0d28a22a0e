#pragma once
// The host's turn markup (runtime/namespaces/turn_queue.cpp format_turn_input), read
// back tolerantly: echo mode answers with what it received in readable form instead of
// the markup. Pure; never fails (input that is not the markup stays as it is).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sb::agent {

struct TurnInputMessage {
  std::string sender;  // `sender` attribute, else `sender_id`, else "someone"
  std::string text;    // unescaped
  bool operator==(const TurnInputMessage&) const = default;
};

// The <message> elements of `<messages ...><message ...>text</message>...</messages>`,
// or nullopt when `input` does not start (after blanks) with a <messages> element.
// Tolerant: an unterminated start tag ends the list; text without `</message>` runs to
// the end (less a trailing `</messages>`); unknown entities are kept verbatim. Linear in
// the input size.
std::optional<std::vector<TurnInputMessage>> parse_turn_input(std::string_view input);

// Echo mode's reply: `sender: text` per message, one per line (also for a single
// message, so who spoke is always visible); plain text (not the markup) -> unchanged.
std::string readable_turn_input(std::string_view input);

}  // namespace sb::agent

#pragma once
// A small routing world shared by the routing tests.
#include <stdexcept>
#include <string>

#include "runtime/routing/routing_table.hpp"

namespace sb::routing::test {

inline constexpr const char* kMainId = "00000000-0000-4000-8000-000000000001";
inline constexpr const char* kTeamId = "00000000-0000-4000-8000-000000000002";
inline constexpr const char* kQuietId = "00000000-0000-4000-8000-000000000003";
inline constexpr const char* kGoneId = "00000000-0000-4000-8000-0000000000ff";

// main (default trigger, groups need it), team (trigger "!team"), quiet (groups need no
// trigger). slack:CMAIN -> main, slack:CTEAM + tg:-100 -> team, dc:42 -> quiet,
// wa:999 -> a namespace the rows lack. slack/main allows U1 and U2 only; telegram/bot
// allows everyone explicitly; other bots have no row.
inline RoutingRows sample_rows() {
  RoutingRows rows;
  rows.namespaces = {
      {kMainId, "main", true, "", true},
      {kTeamId, "team", false, "!team", true},
      {kQuietId, "quiet", false, "", false},
  };
  rows.mappings = {
      {"slack:CMAIN", kMainId}, {"slack:CTEAM", kTeamId}, {"tg:-100", kTeamId},
      {"dc:42", kQuietId},      {"wa:999", kGoneId},
  };
  rows.allowlists = {
      {"slack", "main", false, {"U1", "U2"}},
      {"telegram", "bot", true, {}},
  };
  return rows;
}

inline RoutingTable sample_table(RoutingRows rows = sample_rows()) {
  auto t = RoutingTable::build(rows, "Andy");
  if (!t) throw std::runtime_error(t.error().message);
  return std::move(t).value();
}

}  // namespace sb::routing::test

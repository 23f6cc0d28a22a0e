#pragma once
// One admin API call for the command families that read JSON answers (ns, map, allow,
// routing, schedule): on 2xx the parsed answer (null for an empty body) goes to `on_ok`;
// otherwise the failure is reported (common.hpp) and its exit code returned.
#include <iostream>
#include <string>
#include <variant>

#include <rapidjson/document.h>

#include "actors/app/cli/common.hpp"

namespace sb::app::cli {

template <typename F>
int call_json(const CliContext& ctx, const std::string& method, const std::string& path, const std::string& body,
              F on_ok) {
  auto r = call_node(ctx, {method, path, body, std::chrono::seconds(30)});
  if (auto* code = std::get_if<int>(&r)) return *code;
  auto& resp = std::get<ClientResponse>(r);
  if (resp.status / 100 != 2) return report_failure(resp);
  rapidjson::Document doc;
  if (!resp.body.empty()) {
    doc.Parse(resp.body.c_str());
    if (doc.HasParseError()) {
      std::cerr << "squadbox: unexpected answer: " << resp.body << "\n";
      return kExitRuntime;
    }
  }
  on_ok(doc, resp);
  return kExitOk;
}

}  // namespace sb::app::cli

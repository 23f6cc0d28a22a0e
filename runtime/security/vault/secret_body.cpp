#include "runtime/security/vault/secret_body.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include "runtime/security/vault/vault_crypto.hpp"

namespace sb::security::vault {

Result<Secret> parse_secret_body(std::string_view body) {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError())
    return make_error("invalid_json", std::string("body: malformed JSON (") +
                                          rapidjson::GetParseError_En(doc.GetParseError()) + " at offset " +
                                          std::to_string(doc.GetErrorOffset()) + ")");
  if (!doc.IsObject()) return make_error("invalid_json", "body: must be a JSON object {\"value\": \"...\"}");
  auto it = doc.FindMember("value");
  if (it == doc.MemberEnd()) return make_error("invalid_field", "value: required");
  if (!it->value.IsString()) return make_error("invalid_field", "value: must be a string");
  if (it->value.GetStringLength() == 0) return make_error("invalid_field", "value: must not be empty");
  if (it->value.GetStringLength() > kMaxSecretBytes)
    return make_error("invalid_field", "value: longer than " + std::to_string(kMaxSecretBytes) + " bytes");
  Secret value(std::string(it->value.GetString(), it->value.GetStringLength()));
  return value;
}

}  // namespace sb::security::vault

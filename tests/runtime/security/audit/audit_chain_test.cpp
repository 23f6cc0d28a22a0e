// The pure hash chain: canonical form, BLAKE2b vectors computed independently (Python
// hashlib.blake2b(digest_size=32) over the documented canonical form), verification.
#include "runtime/security/audit/audit_chain.hpp"

#include <gtest/gtest.h>

#include "runtime/core/time.hpp"

namespace {

using sb::security::audit::ChainRecord;
using sb::security::audit::FaultKind;
using sb::security::audit::RecordFields;

std::vector<ChainRecord> make_chain(int n) {
  std::vector<ChainRecord> rows;
  std::string prev;
  for (int i = 1; i <= n; ++i) {
    ChainRecord r;
    r.fields = RecordFields{i,
                            1700000000000 + i,
                            "actor" + std::to_string(i % 3),
                            "event." + std::to_string(i),
                            "subject",
                            R"({"i":)" + std::to_string(i) + "}"};
    r.prev_hash = prev;
    r.hash = sb::security::audit::chain_hash(prev, r.fields);
    prev = r.hash;
    rows.push_back(r);
  }
  return rows;
}

TEST(AuditChain, CanonicalFormIsLengthPrefixedFieldsInOrder) {
  RecordFields f{1, 1700000000000, "admin-api", "secret.set", "anthropic", R"({"created":true})"};
  const std::string expected_hex =
      "0000000000000000"  // prev_hash: empty
      "0100000000000000"
      "31"  // seq "1"
      "0d00000000000000"
      "31373030303030303030303030"  // at "1700000000000"
      "0900000000000000"
      "61646d696e2d617069"  // actor
      "0a00000000000000"
      "7365637265742e736574"  // event
      "0900000000000000"
      "616e7468726f706963"  // subject
      "1000000000000000"
      "7b2263726561746564223a747275657d";  // detail
  EXPECT_EQ(sb::security::audit::to_hex(sb::security::audit::canonical_form("", f)), expected_hex);
}

TEST(AuditChain, HashIsBlake2b256OfTheCanonicalForm) {
  RecordFields one{1, 1700000000000, "admin-api", "secret.set", "anthropic", R"({"created":true})"};
  const std::string h1 = sb::security::audit::chain_hash("", one);
  ASSERT_EQ(h1.size(), 32u);
  EXPECT_EQ(sb::security::audit::to_hex(h1), "1f0c612b940c601fe9ecfe0d16643d9d8e731ac7dc04ea408a6ef50a49d1c5db");
  RecordFields two{2, 1700000000001, "proxy", "proxy.request", "anthropic", R"({"namespace":"main","status":200})"};
  EXPECT_EQ(sb::security::audit::to_hex(sb::security::audit::chain_hash(h1, two)),
            "cdbab47aa668025fb60218eaa581035b38456e22be535e860749d4794fb4ed9d");
}

TEST(AuditChain, MovingBytesBetweenFieldsChangesTheHash) {
  RecordFields a{1, 2, "ab", "c", "", ""};
  RecordFields b{1, 2, "a", "bc", "", ""};
  RecordFields c{12, 2, "", "", "", ""};
  RecordFields d{1, 22, "", "", "", ""};
  EXPECT_NE(sb::security::audit::chain_hash("", a), sb::security::audit::chain_hash("", b));
  EXPECT_NE(sb::security::audit::chain_hash("", c), sb::security::audit::chain_hash("", d));
  EXPECT_NE(sb::security::audit::chain_hash("", a), sb::security::audit::chain_hash(std::string(32, '\0'), a));
}

TEST(AuditChain, AnUntouchedChainVerifies) {
  auto rows = make_chain(5000);
  auto r = sb::security::audit::verify_chain(rows);
  EXPECT_FALSE(r.fault.has_value()) << r.fault->reason;
  EXPECT_EQ(r.records, 5000u);
  EXPECT_EQ(r.head, rows.back().hash);
  auto empty = sb::security::audit::verify_chain({});
  EXPECT_FALSE(empty.fault.has_value());
  EXPECT_EQ(empty.records, 0u);
  EXPECT_EQ(empty.head, "");
}

TEST(AuditChain, AnEditedFieldIsNamedByItsSeq) {
  for (auto edit : std::vector<std::function<void(ChainRecord&)>>{
           [](ChainRecord& r) { r.fields.detail = R"({"i":0})"; },
           [](ChainRecord& r) { r.fields.actor = "someone-else"; },
           [](ChainRecord& r) { r.fields.at_ms += 1; },
           [](ChainRecord& r) { r.fields.subject += " "; },
           [](ChainRecord& r) { r.hash[0] = static_cast<char>(r.hash[0] ^ 1); },
           [](ChainRecord& r) { r.hash.pop_back(); },
       }) {
    auto rows = make_chain(100);
    edit(rows[41]);
    auto r = sb::security::audit::verify_chain(rows);
    ASSERT_TRUE(r.fault.has_value());
    EXPECT_EQ(r.fault->seq, 42);
    EXPECT_EQ(r.fault->kind, FaultKind::edited);
    EXPECT_EQ(r.records, 41u);
    EXPECT_EQ(r.head, rows[40].hash);
  }
}

TEST(AuditChain, ADeletedRecordIsASeqGap) {
  auto rows = make_chain(100);
  rows.erase(rows.begin() + 59, rows.begin() + 62);  // seq 60..62
  auto r = sb::security::audit::verify_chain(rows);
  ASSERT_TRUE(r.fault.has_value());
  EXPECT_EQ(r.fault->seq, 60);
  EXPECT_EQ(r.fault->kind, FaultKind::deleted);
  EXPECT_NE(r.fault->reason.find("60..62"), std::string::npos) << r.fault->reason;

  auto first = make_chain(10);
  first.erase(first.begin());
  r = sb::security::audit::verify_chain(first);
  ASSERT_TRUE(r.fault.has_value());
  EXPECT_EQ(r.fault->seq, 1);
  EXPECT_EQ(r.fault->kind, FaultKind::deleted);
}

TEST(AuditChain, ARecordRehashedByAForgerBreaksTheLinkToItsSuccessor) {
  // A forger who edits seq 30 and recomputes its hash still breaks seq 31's prev_hash.
  auto rows = make_chain(50);
  rows[29].fields.event = "nothing.to.see";
  rows[29].hash = sb::security::audit::chain_hash(rows[29].prev_hash, rows[29].fields);
  auto r = sb::security::audit::verify_chain(rows);
  ASSERT_TRUE(r.fault.has_value());
  EXPECT_EQ(r.fault->seq, 31);
  EXPECT_EQ(r.fault->kind, FaultKind::reordered);

  // Two records exchanged (each rehashed under its new seq, prev_hash kept).
  rows = make_chain(50);
  std::swap(rows[9].fields, rows[19].fields);
  std::swap(rows[9].fields.seq, rows[19].fields.seq);
  std::swap(rows[9].prev_hash, rows[19].prev_hash);
  for (int i : {9, 19}) rows[i].hash = sb::security::audit::chain_hash(rows[i].prev_hash, rows[i].fields);
  r = sb::security::audit::verify_chain(rows);
  ASSERT_TRUE(r.fault.has_value());
  EXPECT_EQ(r.fault->seq, 10);
  EXPECT_EQ(r.fault->kind, FaultKind::reordered);

  // A first record that claims a predecessor.
  rows = make_chain(3);
  rows[0].prev_hash = std::string(32, 'x');
  rows[0].hash = sb::security::audit::chain_hash(rows[0].prev_hash, rows[0].fields);
  r = sb::security::audit::verify_chain(rows);
  ASSERT_TRUE(r.fault.has_value());
  EXPECT_EQ(r.fault->seq, 1);
  EXPECT_EQ(r.fault->kind, FaultKind::reordered);
}

TEST(AuditChain, AStreamingVerifierStopsAtTheFirstFault) {
  auto rows = make_chain(10);
  rows[3].fields.detail = "{}";
  rows[6].fields.detail = "{}";
  sb::security::audit::ChainVerifier v;
  size_t accepted = 0;
  for (const auto& r : rows)
    if (v.add(r)) ++accepted;
  EXPECT_EQ(accepted, 3u);
  ASSERT_TRUE(v.fault().has_value());
  EXPECT_EQ(v.fault()->seq, 4);
  EXPECT_FALSE(v.add(rows[9]));
  EXPECT_EQ(v.fault()->seq, 4);
}

TEST(IsoTime, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(sb::iso8601_utc(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(sb::iso8601_utc(1700000000123), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(sb::iso8601_utc(-1), "1969-12-31T23:59:59.999Z");
}

}  // namespace

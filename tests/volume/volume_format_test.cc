// Unit tests for src/volume: CRC32C, superblock, .vif, .idx rows and replay, needle records.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "volume/crc32c.h"
#include "volume/idx.h"
#include "volume/needle.h"
#include "volume/superblock.h"
#include "volume/volume_info.h"
#include "volume_builder.h"

namespace seaweed::volume {
namespace {

using testing::NeedleSpec;
using testing::VolumeBuilder;

std::span<const uint8_t> bytes_of(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

std::vector<uint8_t> from_hex(std::string_view hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

// 1.dat and 1.idx of a volume written by the pinned weed 4.48 "8000GB" build: one needle
// (key 4, cookie bf150b76) holding a gzipped 200000-byte text file "t.txt" uploaded through the
// filer. The volume server reported ETag "ef954ca7" for it.
constexpr std::string_view kRealDatHex =
    "0300000000000000bf150b76000000000000000400000205000001db1f8b08000000000004ffecc7b10900200c00b0dd2bfa"
    "5c41a1e8d2c1f33dc48c995975a2f376d4da3998999999999999999999999999999999999999999999999999999999999999"
    "9999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999"
    "999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999f94b3ff6e3"
    "90000000006158ffd608627c72cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
    "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
    "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc1cf7cdcccccccccccccccc"
    "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
    "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
    "cccccccccccccccccccccccccccccccccccc71df633f8e050000000084f95ba710c0ce313333333333f376030013f1aecf40"
    "0d03000f05742e74787419746578742f706c61696e3b20636861727365743d7574662d38006b06dee0ef954ca718eb4bf325"
    "84e52b00000205000000";
constexpr std::string_view kRealIdxHex = "0000000000000004000000010000000205";

TEST(Crc32c, KnownVector) {
  EXPECT_EQ(crc32c(bytes_of("123456789")), 0xE3069283u);
  EXPECT_EQ(crc32c(bytes_of("")), 0u);
}

TEST(Crc32c, HardwareMatchesPortableAndChains) {
  std::mt19937 rng(7);
  std::vector<uint8_t> buf(70000);
  for (auto& b : buf) b = static_cast<uint8_t>(rng());
  for (size_t len : {0, 1, 7, 8, 9, 63, 64, 65, 4095, 70000}) {
    std::span<const uint8_t> s(buf.data(), len);
    EXPECT_EQ(crc32c(s), codec::crc32c(std::string_view(reinterpret_cast<const char*>(s.data()), s.size()))) << len;
  }
  std::span<const uint8_t> all(buf);
  EXPECT_EQ(crc32c(all.subspan(1000), crc32c(all.first(1000))), crc32c(all));
}

TEST(Crc32c, LegacyTransformAccepted) {
  const uint32_t c = crc32c(bytes_of("hello"));
  EXPECT_TRUE(crc_matches(c, c));
  EXPECT_TRUE(crc_matches(legacy_crc_value(c), c));
  EXPECT_FALSE(crc_matches(c ^ 1, c));
}

TEST(SuperBlock, ParsesFields) {
  const std::vector<uint8_t> b = {3, 1, 2, 3, 0x01, 0x02, 0, 0};
  auto sb = parse_superblock(b);
  ASSERT_TRUE(sb.ok()) << sb.error().message;
  EXPECT_EQ(sb->version, 3);
  EXPECT_EQ(sb->replica_placement, 1);
  EXPECT_EQ(sb->ttl_count, 2);
  EXPECT_EQ(sb->ttl_unit, 3);
  EXPECT_EQ(sb->compaction_revision, 0x0102);
  EXPECT_EQ(sb->needles_start(), 8u);
}

TEST(SuperBlock, ExtraSizeMovesFirstNeedle) {
  std::vector<uint8_t> b = {2, 0, 0, 0, 0, 0, 0, 5, 1, 2, 3, 4, 5};
  auto sb = parse_superblock(b, true);
  ASSERT_TRUE(sb.ok());
  EXPECT_EQ(sb->needles_start(), 13u);
  b.resize(10);
  EXPECT_FALSE(parse_superblock(b, true).ok());
}

TEST(SuperBlock, RejectsBadVersionAndTruncation) {
  EXPECT_EQ(parse_superblock(std::vector<uint8_t>{4, 0, 0, 0, 0, 0, 0, 0}).error().code, EINVAL);
  EXPECT_EQ(parse_superblock(std::vector<uint8_t>{0, 0, 0, 0, 0, 0, 0, 0}).error().code, EINVAL);
  auto r = parse_superblock(std::vector<uint8_t>{3, 0, 0});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("truncated"), std::string::npos);
}

TEST(VolumeInfo, ParsesWeedOutput) {
  auto info = parse_volume_info(
      R"({  "files":  [],  "version":  3,  "replication":  "",  "bytesOffset":  5,  "datFileSize":  "0",)"
      R"(  "expireAtSec":  "0",  "readOnly":  false,  "ecShardConfig":  null,  "readOnlyCanDelete":  false})");
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->bytes_offset, 5);
  EXPECT_EQ(info->version, 3);
  EXPECT_FALSE(info->read_only);
  EXPECT_FALSE(info->remote);
}

TEST(VolumeInfo, VariantsAndErrors) {
  auto a = parse_volume_info(R"({"bytesOffset":"4","readOnly":true,"files":[{"key":"x"}]})");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->bytes_offset, 4);
  EXPECT_TRUE(a->read_only);
  EXPECT_TRUE(a->remote);
  auto b = parse_volume_info("{}");
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->bytes_offset.has_value());
  EXPECT_FALSE(parse_volume_info(R"({"bytesOffset":6})").ok());
  EXPECT_FALSE(parse_volume_info("not json").ok());
  EXPECT_FALSE(parse_volume_info("[1,2]").ok());
  EXPECT_EQ(read_volume_info("/nonexistent/1.vif").error().code, ENOENT);
}

TEST(Idx, ParsesRealFiveByteRow) {
  const auto row = from_hex(kRealIdxHex);
  ASSERT_EQ(row.size(), idx_row_size(5));
  auto r = parse_idx_row(row, 5);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->key, 4u);
  EXPECT_EQ(r->offset_units, 1u);
  EXPECT_EQ(r->byte_offset(), 8u);
  EXPECT_EQ(r->size, 0x205);
}

TEST(Idx, RoundTripsBothWidths) {
  for (int width : {4, 5}) {
    const uint64_t offset = width == 5 ? 0x12'3456'789aull : 0x3456'789aull;
    std::vector<uint8_t> row(idx_row_size(width));
    encode_idx_row({0x0102030405060708ull, offset, -77}, width, row);
    auto r = parse_idx_row(row, width);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->key, 0x0102030405060708ull);
    EXPECT_EQ(r->offset_units, offset);
    EXPECT_EQ(r->size, -77);
    EXPECT_FALSE(r->is_put());
  }
  // 5-byte layout: the high byte sits after the low 4 bytes.
  std::vector<uint8_t> row(17);
  encode_idx_row({1, 0x05'0000'0001ull, 8}, 5, row);
  EXPECT_EQ(row[8], 0);
  EXPECT_EQ(row[11], 1);
  EXPECT_EQ(row[12], 5);
}

TEST(Idx, RejectsWrongLengthAndWidth) {
  std::vector<uint8_t> row(16);
  EXPECT_FALSE(parse_idx_row(row, 5).ok());
  EXPECT_FALSE(parse_idx_row(row, 3).ok());
  NeedleMap m;
  EXPECT_FALSE(replay_idx(row, 8, m).ok());
}

TEST(NeedleMapReplay, LastRowWinsAndDeletesNegate) {
  VolumeBuilder v(3, 5);
  v.add_row(1, 10, 100);
  v.add_row(2, 20, 200);
  v.add_row(1, 30, 300);             // overwrite
  v.add_row(2, 40, kTombstoneSize);  // delete
  v.add_row(3, 50, 0);               // empty needle
  v.add_row(3, 60, kTombstoneSize);  // delete of size 0 => -1
  v.add_row(4, 70, kTombstoneSize);  // delete of unknown key: nothing
  v.add_row(5, 0, 10);               // offset 0 is not a put: nothing (key unknown)
  NeedleMap m;
  auto r = replay_idx(v.idx, 5, m);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->rows, 8u);
  EXPECT_EQ(r->consumed_bytes, v.idx.size());
  EXPECT_EQ(m.find(1)->offset_units, 30u);
  EXPECT_EQ(m.find(1)->size, 300);
  EXPECT_EQ(m.find(2)->offset_units, 20u);  // old record kept for readDeleted
  EXPECT_EQ(m.find(2)->size, -200);
  EXPECT_TRUE(m.find(2)->readable());
  EXPECT_EQ(m.find(2)->record_size(), 200u);
  EXPECT_EQ(m.find(3)->size, kTombstoneSize);
  EXPECT_FALSE(m.find(3)->readable());
  EXPECT_FALSE(m.find(4).has_value());
  EXPECT_FALSE(m.find(5).has_value());
  EXPECT_EQ(m.live_count(), 1u);
}

TEST(NeedleMapReplay, RepeatedDeleteAndRevive) {
  NeedleMap m;
  m.apply({7, 1, 50});
  m.apply({7, 2, kTombstoneSize});
  m.apply({7, 3, kTombstoneSize});  // a second delete must not flip the sign back
  EXPECT_EQ(m.find(7)->size, -50);
  m.apply({7, 4, 60});
  EXPECT_EQ(m.find(7)->size, 60);
  EXPECT_EQ(m.live_count(), 1u);
  m.apply({7, 0, 60});  // offset 0 row counts as a delete
  EXPECT_EQ(m.find(7)->size, -60);
}

TEST(NeedleMapReplay, PartialTrailingRowIsLeftOver) {
  VolumeBuilder v(3, 4);
  v.add_row(1, 10, 100);
  v.add_row(2, 20, 200);
  v.idx.resize(v.idx.size() - 5);
  NeedleMap m;
  auto r = replay_idx(v.idx, 4, m);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->rows, 1u);
  EXPECT_EQ(r->consumed_bytes, 16u);
  EXPECT_FALSE(m.find(2).has_value());
}

TEST(Needle, PaddingIsOneToEight) {
  for (int version : {1, 2, 3}) {
    for (uint32_t size = 0; size < 40; ++size) {
      const uint64_t pad = needle_padding(size, version);
      EXPECT_GE(pad, 1u);
      EXPECT_LE(pad, 8u);
      EXPECT_EQ(needle_actual_size(size, version) % 8, 0u);
    }
  }
  // 16 + 4 + 4 = 24 is aligned: a full 8 bytes of padding follow (v2).
  EXPECT_EQ(needle_padding(4, 2), 8u);
  EXPECT_EQ(needle_actual_size(4, 2), 32u);
}

TEST(Needle, ParsesRealWeedRecord) {
  const auto dat = from_hex(kRealDatHex);
  auto sb = parse_superblock(dat, true);
  ASSERT_TRUE(sb.ok());
  EXPECT_EQ(sb->version, 3);
  auto n = parse_needle(std::span<const uint8_t>(dat).subspan(sb->needles_start()), sb->version);
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(n->header.cookie, 0xbf150b76u);
  EXPECT_EQ(n->header.key, 4u);
  EXPECT_EQ(n->header.size, 0x205u);
  EXPECT_EQ(n->data_size, 0x1dbu);
  EXPECT_TRUE(n->compressed());
  EXPECT_EQ(n->data[0], 0x1f);
  EXPECT_EQ(n->data[1], 0x8b);
  EXPECT_EQ(n->name, "t.txt");
  EXPECT_EQ(n->mime, "text/plain; charset=utf-8");
  EXPECT_EQ(n->last_modified, 0x6b06dee0u);
  EXPECT_EQ(n->stored_crc, 0xef954ca7u);  // the ETag the volume server sent
  EXPECT_EQ(n->append_at_ns, 0x18eb4bf32584e52bull);
  EXPECT_TRUE(verify_needle_crc(*n).ok());
  EXPECT_EQ(sb->needles_start() + needle_actual_size(n->header.size, 3), dat.size());
}

TEST(Needle, RoundTripAllOptionalFieldsV2V3) {
  for (int version : {2, 3}) {
    NeedleSpec s;
    s.key = 0xabcdef;
    s.cookie = 0xdeadbeef;
    s.data = "some data bytes";
    s.flags = kFlagCompressed | kFlagHasName | kFlagHasMime | kFlagHasLastModified | kFlagHasTtl | kFlagHasPairs;
    s.name = "name.txt";
    s.mime = "text/plain";
    s.ttl_count = 3;
    s.ttl_unit = 2;
    s.pairs = R"({"a":"b"})";
    const auto rec = testing::encode_needle(s, version);
    EXPECT_EQ(rec.size() % 8, 0u);
    auto n = parse_needle(rec, version);
    ASSERT_TRUE(n.ok()) << n.error().message;
    EXPECT_EQ(n->header.key, s.key);
    EXPECT_EQ(n->header.cookie, s.cookie);
    EXPECT_EQ(std::string(n->data.begin(), n->data.end()), s.data);
    EXPECT_EQ(n->flags, s.flags);
    EXPECT_EQ(n->name, s.name);
    EXPECT_EQ(n->mime, s.mime);
    EXPECT_EQ(n->last_modified, s.last_modified);
    EXPECT_EQ(n->ttl_count, 3);
    EXPECT_EQ(n->ttl_unit, 2);
    EXPECT_EQ(n->pairs, s.pairs);
    EXPECT_EQ(n->append_at_ns, version == 3 ? s.append_at_ns : 0u);
    EXPECT_TRUE(verify_needle_crc(*n).ok());
  }
}

TEST(Needle, EmptyNameAndMimeAreParsedByFlags) {
  NeedleSpec s;
  s.data = "x";
  s.name = "";
  s.mime = "";
  const auto record = testing::encode_needle(s, 3);
  auto n = parse_needle(record, 3);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->name, "");
  EXPECT_EQ(n->last_modified, s.last_modified);
}

TEST(Needle, TombstoneAndV1) {
  NeedleSpec t;
  t.tombstone = true;
  const auto record = testing::encode_needle(t, 3);
  auto n = parse_needle(record, 3);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->header.size, 0u);
  EXPECT_TRUE(n->data.empty());

  NeedleSpec v1;
  v1.data = "version one";
  const auto record_v1 = testing::encode_needle(v1, 1);
  auto m = parse_needle(record_v1, 1);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(std::string(m->data.begin(), m->data.end()), "version one");
  EXPECT_TRUE(verify_needle_crc(*m).ok());
}

TEST(Needle, LegacyCrcAccepted) {
  NeedleSpec s;
  s.data = "legacy";
  s.legacy_crc = true;
  const auto record = testing::encode_needle(s, 2);
  auto n = parse_needle(record, 2);
  ASSERT_TRUE(n.ok());
  EXPECT_TRUE(verify_needle_crc(*n).ok());
}

TEST(Needle, CorruptDataFailsCrc) {
  NeedleSpec s;
  s.data = "payload";
  auto rec = testing::encode_needle(s, 3);
  rec[kNeedleHeaderSize + 4] ^= 0x40;  // first data byte
  auto n = parse_needle(rec, 3);
  ASSERT_TRUE(n.ok());
  auto st = verify_needle_crc(*n);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, EBADMSG);
  EXPECT_NE(st.error().message.find("CRC32C mismatch"), std::string::npos);
}

TEST(Needle, TruncatedRecordsAreClearErrors) {
  NeedleSpec s;
  s.data = std::string(100, 'a');
  const auto rec = testing::encode_needle(s, 3);
  auto h = parse_needle(std::span<const uint8_t>(rec).first(10), 3);
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.error().message.find("header truncated"), std::string::npos);
  const size_t used = needle_used_size(parse_needle(rec, 3)->header.size, 3);
  auto t = parse_needle(std::span<const uint8_t>(rec).first(used - 1), 3);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message.find("record truncated"), std::string::npos);
  EXPECT_TRUE(parse_needle(std::span<const uint8_t>(rec).first(used), 3).ok());  // padding not needed
}

TEST(Needle, FieldsOverrunningTheBodyAreRejected) {
  NeedleSpec s;
  s.data = "abc";
  s.flags = kFlagHasName;
  s.name = "nm";
  auto rec = testing::encode_needle(s, 3);
  // DataSize larger than the body.
  auto bad_size = rec;
  volume::store_be32(&bad_size[kNeedleHeaderSize], 1000);
  auto a = parse_needle(bad_size, 3);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.error().message.find("DataSize"), std::string::npos);
  // Name length pointing past the body.
  auto bad_name = rec;
  bad_name[kNeedleHeaderSize + 4 + 3 + 1] = 200;
  auto b = parse_needle(bad_name, 3);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().message.find("name"), std::string::npos);
  // Flags claiming pairs that are not there.
  auto bad_flags = rec;
  bad_flags[kNeedleHeaderSize + 4 + 3] = kFlagHasName | kFlagHasPairs;
  EXPECT_FALSE(parse_needle(bad_flags, 3).ok());
  EXPECT_FALSE(parse_needle(rec, 7).ok());
}

TEST(Needle, RandomBytesNeverCrash) {
  std::mt19937 rng(1234);
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> buf(rng() % 96);
    for (auto& b : buf) b = static_cast<uint8_t>(rng());
    if (buf.size() >= 16 && (rng() & 1)) {  // keep the size small so bodies are actually parsed
      buf[12] = buf[13] = 0;
      buf[14] = 0;
      buf[15] = static_cast<uint8_t>(rng() % 80);
    }
    auto n = parse_needle(buf, 2 + static_cast<int>(rng() % 2));
    if (n.ok()) {
      EXPECT_LE(n->data.size(), buf.size());
    }
  }
}

}  // namespace
}  // namespace seaweed::volume

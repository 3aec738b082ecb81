#include "common/file_id.h"

#include <gtest/gtest.h>

namespace seaweed {
namespace {

FileId parse_ok(std::string_view text) {
  auto r = FileId::parse(text);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : FileId{};
}

void expect_invalid(std::string_view text) {
  auto r = FileId::parse(text);
  ASSERT_FALSE(r.ok()) << text;
  EXPECT_EQ(r.error().code, EINVAL);
}

TEST(FileId, ParsesFactSheetExample) {
  EXPECT_EQ(parse_ok("3,01637037d6"), (FileId{3, 1, 0x637037d6}));
  EXPECT_EQ((FileId{3, 1, 0x637037d6}).to_string(), "3,01637037d6");
}

TEST(FileId, KeyDropsLeadingZeroBytesNotNibbles) {
  EXPECT_EQ((FileId{7, 0x1637, 0x12345678}).to_string(), "7,163712345678");
  EXPECT_EQ((FileId{7, 0x10, 0x12345678}).to_string(), "7,1012345678");
  EXPECT_EQ((FileId{7, 0x100, 0x12345678}).to_string(), "7,010012345678");
  EXPECT_EQ((FileId{1, 0xffffffffffffffffULL, 1}).to_string(), "1,ffffffffffffffff00000001");
}

TEST(FileId, CookieKeepsLeadingZeros) {
  EXPECT_EQ((FileId{3, 1, 0x5}).to_string(), "3,0100000005");
  EXPECT_EQ(parse_ok("3,0100000005"), (FileId{3, 1, 5}));
}

TEST(FileId, RoundTrips) {
  for (const FileId& id : {FileId{1, 1, 0}, FileId{4294967295u, 0x0102030405060708ULL, 0xdeadbeef},
                           FileId{42, 0xabcdef, 0x00c0ffee}, FileId{0, 0x8000000000000000ULL, 0xffffffff}}) {
    EXPECT_EQ(parse_ok(id.to_string()), id) << id.to_string();
  }
  for (const char* text : {"3,01637037d6", "1,ffffffffffffffff00000001", "12345,abcdef00c0ffee"})
    EXPECT_EQ(parse_ok(text).to_string(), text);
}

TEST(FileId, AcceptsUppercaseAndOddLengthKeys) {
  EXPECT_EQ(parse_ok("3,01637037D6"), (FileId{3, 1, 0x637037d6}));
  EXPECT_EQ(parse_ok("3,1637037d6"), (FileId{3, 1, 0x637037d6}));  // 1-digit key
  EXPECT_EQ(parse_ok("9,ABC00000001"), (FileId{9, 0xabc, 1}));
  // Re-formatting yields the canonical (lowercase, even-length) form.
  EXPECT_EQ(parse_ok("9,ABC00000001").to_string(), "9,0abc00000001");
}

TEST(FileId, RejectsMissingComma) {
  expect_invalid("301637037d6");
  expect_invalid(",01637037d6");
  expect_invalid("");
}

TEST(FileId, RejectsBadVolumeId) {
  expect_invalid("x,01637037d6");
  expect_invalid("3a,01637037d6");
  expect_invalid("-3,01637037d6");
}

TEST(FileId, RejectsVolumeIdsAbove32Bits) {
  // 4294967298 = 2^32 + 2: truncating it would read volume 2.
  expect_invalid("4294967298,01637037d6");
  expect_invalid("4294967296,01637037d6");
  expect_invalid("99999999999999999999999,01637037d6");  // does not even fit 64 bits
  EXPECT_EQ(parse_ok("4294967295,01637037d6").volume_id, 4294967295u);
}

TEST(FileId, RejectsBadLength) {
  expect_invalid("3,637037d6");                                                  // 8 chars: no key
  expect_invalid("3,");                                                          // nothing
  expect_invalid("3,0102030405060708090a0b0c0d");                                // > 24
  expect_invalid("3,1ffffffffffffffff00000001");                                 // 25
  EXPECT_EQ(parse_ok("3,ffffffffffffffff00000001").key, 0xffffffffffffffffULL);  // 24 is fine
}

TEST(FileId, RejectsNonHex) {
  expect_invalid("3,0g637037d6");
  expect_invalid("3,01637037z6");
  expect_invalid("3,01 637037d");
}

// Found by tests/fuzz/file_id_fuzz.cc: "0" and "00" keys parsed to key 0, which formats to a
// key-less string that does not parse back.
TEST(FileId, RejectsKeyZero) {
  expect_invalid("4294967295,010000001");
  expect_invalid("4,0054030201");
  expect_invalid("3,0000000000000000637037d6");
}

}  // namespace
}  // namespace seaweed

#include "reader/entry_chunks.h"

#include <gtest/gtest.h>

namespace seaweed::reader {
namespace {

TEST(EntryChunks, UsesFileIdOrFormatsFid) {
  filer_pb::FileChunk c;
  c.set_offset(5);
  c.set_size(10);
  c.mutable_fid()->set_volume_id(3);
  c.mutable_fid()->set_file_key(1);
  c.mutable_fid()->set_cookie(0x637037d6);
  auto r = to_chunk(c);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->file_id, "3,01637037d6");
  c.set_file_id("4,0200000001");
  r = to_chunk(c);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->file_id, "4,0200000001");
  EXPECT_EQ(r->offset, 5);
  EXPECT_EQ(r->size, 10u);
}

TEST(EntryChunks, MalformedChunksAreErrorsNotCrashes) {
  filer_pb::FileChunk none;
  EXPECT_FALSE(to_chunk(none).ok());
  filer_pb::FileChunk bad_id;
  bad_id.set_file_id("garbage");
  EXPECT_FALSE(to_chunk(bad_id).ok());
  filer_pb::FileChunk negative;
  negative.set_file_id("3,01637037d6");
  negative.set_offset(-1);
  auto r = to_chunk(negative);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, EIO);
}

// A manifest child with a 3-byte key made open() fail with EINVAL (tests/fuzz/manifest_fuzz.cc).
TEST(EntryChunks, CipherKeyMustBe32Bytes) {
  filer_pb::FileChunk c;
  c.set_file_id("3,01637037d6");
  c.set_cipher_key("abc");
  auto r = to_chunk(c);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, EIO);
  c.set_cipher_key(std::string(32, 'k'));
  EXPECT_TRUE(to_chunk(c).ok());
}

}  // namespace
}  // namespace seaweed::reader

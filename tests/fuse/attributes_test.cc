#include "fuse/attributes.h"

#include <gtest/gtest.h>

namespace seaweed::fuse {
namespace {

TEST(Attributes, RegularFileSizeIsMaxOfAttributeAndChunks) {
  filer_pb::Entry e;
  e.mutable_attributes()->set_file_mode(0660);
  e.mutable_attributes()->set_file_size(10);
  auto* c = e.add_chunks();
  c->set_offset(100);
  c->set_size(50);
  auto st = entry_to_stat(e, 7);
  EXPECT_EQ(st.st_ino, 7u);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0660u);
  EXPECT_EQ(st.st_size, 150);
  e.mutable_attributes()->set_file_size(1000);
  EXPECT_EQ(entry_to_stat(e, 7).st_size, 1000);
}

TEST(Attributes, DirectoriesAndSymlinks) {
  filer_pb::Entry dir;
  dir.set_is_directory(true);
  dir.mutable_attributes()->set_file_mode((1u << 31) | 0750);
  auto st = entry_to_stat(dir, 2);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0750u);

  filer_pb::Entry link;
  link.mutable_attributes()->set_file_mode((1u << 27) | 0777);
  link.mutable_attributes()->set_symlink_target("target/file");
  st = entry_to_stat(link, 3);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(st.st_size, 11);
}

TEST(Attributes, InlineContentSizeIsTheAttributeLikeTheFilerServesIt) {
  filer_pb::Entry e;
  e.set_content("hello");
  EXPECT_EQ(entry_size(e), 0u);  // saveInside entries keep file_size 0; the filer serves 0 bytes
  e.mutable_attributes()->set_file_size(5);
  EXPECT_EQ(entry_size(e), 5u);
}

TEST(Attributes, TimesWithNanoseconds) {
  filer_pb::Entry e;
  e.mutable_attributes()->set_mtime(1700000000);
  e.mutable_attributes()->set_mtime_ns(123);
  auto st = entry_to_stat(e, 9);
  EXPECT_EQ(st.st_mtim.tv_sec, 1700000000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 123);
  EXPECT_EQ(st.st_ctim.tv_sec, 1700000000);
}

TEST(Attributes, NonPositiveCtimeAndAtimeAreUnsetAndShowTheMtime) {
  filer_pb::Entry e;
  auto* a = e.mutable_attributes();
  a->set_mtime(1700000000);
  a->set_mtime_ns(5);
  a->set_ctime(-62135596800);  // Go's zero time, as filer 4.48 stores it for HTTP uploads
  a->set_ctime_ns(7);
  a->set_atime(-1);
  auto st = entry_to_stat(e, 1);
  EXPECT_EQ(st.st_ctim.tv_sec, 1700000000);
  EXPECT_EQ(st.st_ctim.tv_nsec, 5);
  EXPECT_EQ(st.st_atim.tv_sec, 1700000000);
  a->set_ctime(1700000100);
  a->set_atime(1700000200);
  st = entry_to_stat(e, 1);
  EXPECT_EQ(st.st_ctim.tv_sec, 1700000100);
  EXPECT_EQ(st.st_ctim.tv_nsec, 7);
  EXPECT_EQ(st.st_atim.tv_sec, 1700000200);
}

}  // namespace
}  // namespace seaweed::fuse

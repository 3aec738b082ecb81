#include "chunks/file_mode.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

namespace seaweed::chunks {
namespace {

TEST(FileMode, RegularFilePermissions) {
  EXPECT_EQ(go_mode_to_posix(0644), S_IFREG | 0644u);
  EXPECT_EQ(go_mode_to_posix(0660), S_IFREG | 0660u);  // filer HTTP default
  EXPECT_EQ(go_mode_to_posix(0), static_cast<uint32_t>(S_IFREG));
}

TEST(FileMode, Directory) {
  EXPECT_EQ(go_mode_to_posix(kGoModeDir | 0777), S_IFDIR | 0777u);
  EXPECT_EQ(go_mode_to_posix(0x80000000u | 0755), S_IFDIR | 0755u);
}

TEST(FileMode, OtherTypes) {
  EXPECT_EQ(go_mode_to_posix((1u << 27) | 0777), S_IFLNK | 0777u);
  EXPECT_EQ(go_mode_to_posix((1u << 25) | 0600), S_IFIFO | 0600u);
  EXPECT_EQ(go_mode_to_posix((1u << 24) | 0700), S_IFSOCK | 0700u);
  EXPECT_EQ(go_mode_to_posix((1u << 26) | (1u << 21) | 0620), S_IFCHR | 0620u);
  EXPECT_EQ(go_mode_to_posix((1u << 26) | 0660), S_IFBLK | 0660u);
  // Irregular has no POSIX counterpart: treated as a regular file.
  EXPECT_EQ(go_mode_to_posix(kGoModeIrregular | 0400), S_IFREG | 0400u);
}

TEST(FileMode, SpecialBitsFromLowBits) {
  EXPECT_EQ(go_mode_to_posix(04755), S_IFREG | S_ISUID | 0755u);
  EXPECT_EQ(go_mode_to_posix(02755), S_IFREG | S_ISGID | 0755u);
  EXPECT_EQ(go_mode_to_posix(kGoModeDir | 01777), S_IFDIR | S_ISVTX | 0777u);
}

TEST(FileMode, SpecialBitsFromGoBits) {
  EXPECT_EQ(go_mode_to_posix((1u << 23) | 0755), S_IFREG | S_ISUID | 0755u);
  EXPECT_EQ(go_mode_to_posix((1u << 22) | 0755), S_IFREG | S_ISGID | 0755u);
  EXPECT_EQ(go_mode_to_posix(kGoModeDir | (1u << 20) | 0777), S_IFDIR | S_ISVTX | 0777u);
  // Both encodings at once must not double up or leak Go bits into st_mode.
  EXPECT_EQ(go_mode_to_posix((1u << 23) | 04755), S_IFREG | S_ISUID | 0755u);
}

TEST(FileMode, PosixToGo) {
  EXPECT_EQ(posix_to_go_mode(S_IFREG | 0644), 0644u);
  EXPECT_EQ(posix_to_go_mode(S_IFDIR | 0755), kGoModeDir | 0755u);
  EXPECT_EQ(posix_to_go_mode(S_IFLNK | 0777), kGoModeSymlink | 0777u);
  EXPECT_EQ(posix_to_go_mode(S_IFREG | S_ISUID | 0755), 04755u);  // mount style: low bits
  EXPECT_EQ(posix_to_go_mode(S_IFCHR | 0600), kGoModeDevice | kGoModeCharDevice | 0600u);
  EXPECT_EQ(posix_to_go_mode(S_IFBLK | 0600), kGoModeDevice | 0600u);
}

TEST(FileMode, RoundTrip) {
  for (uint32_t type : {S_IFREG, S_IFDIR, S_IFLNK, S_IFIFO, S_IFSOCK, S_IFCHR, S_IFBLK}) {
    for (uint32_t perm : {0u, 0644u, 0777u, 04755u, 02750u, 01777u, 07777u}) {
      const uint32_t mode = type | perm;
      EXPECT_EQ(go_mode_to_posix(posix_to_go_mode(mode)), mode) << std::oct << mode;
    }
  }
}

}  // namespace
}  // namespace seaweed::chunks

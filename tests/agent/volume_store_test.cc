// VolumeStore over synthetic volume files in a temp dir: lookups, cookies, deletes, CRC, live
// appends, vacuum-style file replacement, volumes appearing and disappearing.
#include "agent/volume_store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>

#include "../volume/volume_builder.h"

namespace seaweed::agent {
namespace {

namespace fs = std::filesystem;
using volume::testing::NeedleSpec;
using volume::testing::VolumeBuilder;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "vstore-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

void append_file(const std::string& path, const std::vector<uint8_t>& bytes, size_t from) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out.write(reinterpret_cast<const char*>(bytes.data() + from), static_cast<std::streamsize>(bytes.size() - from));
}

// Writes via a temp file and rename, the way a vacuum commit replaces files (new inode).
void replace_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  write_file(path + ".tmp", bytes);
  fs::rename(path + ".tmp", path);
}

std::string text(const NeedleRead& r) { return std::string(r.data.begin(), r.data.end()); }

NeedleSpec spec(uint64_t key, uint32_t cookie, std::string data) {
  NeedleSpec s;
  s.key = key;
  s.cookie = cookie;
  s.data = std::move(data);
  return s;
}

class VolumeStoreTest : public ::testing::Test {
 protected:
  StoreOptions options() {
    StoreOptions o;
    o.dirs = {dir_.path()};
    o.rescan_min_interval = std::chrono::milliseconds(0);
    return o;
  }
  void write_volume(const std::string& base, const VolumeBuilder& v, bool with_vif = true) {
    write_file(dir_.path() + "/" + base + ".dat", v.dat);
    write_file(dir_.path() + "/" + base + ".idx", v.idx);
    if (with_vif) {
      std::ofstream(dir_.path() + "/" + base + ".vif")
          << R"({"version":)" << v.version << R"(,"bytesOffset":)" << v.bytes_offset << "}";
    }
  }
  TempDir dir_;
};

TEST_F(VolumeStoreTest, ServesNeedlesWithCookieAndCrcChecks) {
  VolumeBuilder v;
  v.put(spec(1, 0xaaaa0001, "first needle"));
  NeedleSpec gz = spec(2, 0xaaaa0002, "\x1f\x8b pretend gzip");
  gz.flags |= volume::kFlagCompressed;
  v.put(gz);
  write_volume("7", v);
  VolumeStore store(options());
  ASSERT_TRUE(store.load().ok());
  EXPECT_EQ(store.volume_count(), 1u);

  auto a = store.lookup(7, 1, 0xaaaa0001);
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(text(*a), "first needle");
  EXPECT_FALSE(a->flags & volume::kFlagCompressed);
  EXPECT_TRUE(a->crc_verified);
  EXPECT_EQ(a->crc, volume::crc32c(a->data));

  auto b = store.lookup(7, 2, 0xaaaa0002);
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->flags & volume::kFlagCompressed);

  EXPECT_EQ(store.lookup(7, 1, 0xdeadbeef).error().code, EACCES);
  EXPECT_EQ(store.lookup(7, 99, 0xaaaa0001).error().code, ENOENT);
  EXPECT_EQ(store.lookup(8, 1, 0xaaaa0001).error().code, ENXIO);
}

TEST_F(VolumeStoreTest, CollectionNamesAndFourByteOffsetsWithoutVif) {
  VolumeBuilder v(3, 4);
  v.put(spec(5, 1, "four byte offsets"));
  write_volume("my_coll_12", v, /*with_vif=*/false);
  VolumeStore store(options());
  ASSERT_TRUE(store.load().ok());
  auto r = store.lookup(12, 5, 1);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(text(*r), "four byte offsets");
  const auto stats = store.stats();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].collection, "my_coll");
  EXPECT_EQ(stats[0].bytes_offset, 4);
}

TEST_F(VolumeStoreTest, VersionTwoVolume) {
  VolumeBuilder v(2, 5);
  v.put(spec(3, 9, "v2 data"));
  write_volume("3", v);
  VolumeStore store(options());
  ASSERT_TRUE(store.load().ok());
  auto r = store.lookup(3, 3, 9);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(text(*r), "v2 data");
}

TEST_F(VolumeStoreTest, DeletedNeedlesFollowReadDeleted) {
  VolumeBuilder v;
  v.put(spec(1, 1, "old content"));
  v.remove(1, 1);
  NeedleSpec empty = spec(2, 2, "");
  empty.tombstone = true;  // a Size-0 record, as an empty upload stores
  v.put(empty);
  v.remove(2, 2);  // size 0 deleted => -1: nothing to read
  empty.key = 4;
  v.put(empty);
  v.put(spec(3, 3, "overwritten v1"));
  v.put(spec(3, 3, "overwritten v2"));
  write_volume("1", v);
  VolumeStore store(options());
  ASSERT_TRUE(store.load().ok());
  // Without readDeleted a deleted needle is not there (HTTP answers 404 too) ...
  EXPECT_EQ(store.lookup(1, 1, 1).error().code, ENOENT);
  EXPECT_EQ(store.lookup(1, 1, 1, /*allow_deleted=*/false).error().code, ENOENT);
  // ... with it the old record is served while it exists.
  auto r = store.lookup(1, 1, 1, /*allow_deleted=*/true);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(text(*r), "old content");
  EXPECT_TRUE(r->deleted);
  EXPECT_EQ(store.lookup(1, 1, 0xbad, true).error().code, EACCES);  // the cookie still counts
  EXPECT_EQ(store.lookup(1, 2, 2, true).error().code, ENOENT);
  auto e = store.lookup(1, 4, 2);
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_TRUE(e->data.empty());
  auto o = store.lookup(1, 3, 3);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(text(*o), "overwritten v2");
}

TEST_F(VolumeStoreTest, ExpiredTtlNeedlesAreNotFound) {
  VolumeBuilder v;
  NeedleSpec old = spec(1, 1, "expired");
  old.flags |= volume::kFlagHasTtl;
  old.ttl_count = 5;
  old.ttl_unit = 1;  // 5 minutes, written long ago
  old.append_at_ns = 1000000000ull * 1000000;
  v.put(old);
  NeedleSpec fresh = spec(2, 2, "fresh");
  fresh.flags |= volume::kFlagHasTtl;
  fresh.ttl_count = 1;
  fresh.ttl_unit = 3;  // 1 day, written now
  fresh.append_at_ns = static_cast<uint64_t>(std::time(nullptr)) * 1000000000ull;
  v.put(fresh);
  write_volume("1", v);
  VolumeStore store(options());
  ASSERT_TRUE(store.load().ok());
  EXPECT_EQ(store.lookup(1, 1, 1).error().code, ENOENT);
  EXPECT_TRUE(store.lookup(1, 2, 2).ok());
}

TEST_F(VolumeStoreTest, CorruptDataAndIndexAreRefused) {
  VolumeBuilder v;
  const uint64_t at = v.put(spec(1, 1, "payload to corrupt"));
  v.put(spec(2, 2, "good"));
  v.dat[at * 8 + volume::kNeedleHeaderSize + 4] ^= 1;
  v.add_row(3, at, 40);      // index row whose record has another key
  v.add_row(4, 100000, 40);  // points past the end of the .dat
  write_volume("1", v);
  VolumeStore store(options());
  ASSERT_TRUE(store.load().ok());
  auto c = store.lookup(1, 1, 1);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, EBADMSG);
  EXPECT_NE(c.error().message.find("CRC32C"), std::string::npos);
  EXPECT_EQ(store.lookup(1, 1, 1).error().code, EBADMSG);  // a bad record is never cached as good
  EXPECT_EQ(store.lookup(1, 3, 1).error().code, EBADMSG);
  auto past_end = store.lookup(1, 4, 1);
  EXPECT_EQ(past_end.error().code, EBADMSG);
  EXPECT_NE(past_end.error().message.find("truncated"), std::string::npos);
  EXPECT_TRUE(store.lookup(1, 2, 2).ok());

  StoreOptions no_crc = options();
  no_crc.verify_crc = false;
  VolumeStore lax(no_crc);
  ASSERT_TRUE(lax.load().ok());
  EXPECT_TRUE(lax.lookup(1, 1, 1).ok());
}

// The volume server cuts its .dat back after a failed write; an operator may do worse. Reads of
// what was cut are refused (no bytes), the rest is served, and the agent does not die.
TEST_F(VolumeStoreTest, DatTruncatedUnderTheStore) {
  VolumeBuilder v;
  v.put(spec(1, 1, std::string(10000, 'a')));
  v.put(spec(2, 2, std::string(3 << 20, 'b')));  // spans many pages
  const uint64_t last = v.put(spec(3, 3, std::string(20000, 'c')));
  write_volume("1", v);
  VolumeStore store(options());
  ASSERT_TRUE(store.load().ok());
  for (uint64_t k = 1; k <= 3; ++k) ASSERT_TRUE(store.lookup(1, k, static_cast<uint32_t>(k)).ok()) << k;

  // Cut inside the last needle's data: its CRC was verified and cached before.
  const std::string dat = dir_.path() + "/1.dat";
  ASSERT_EQ(::truncate(dat.c_str(), static_cast<off_t>(last * 8 + 5000)), 0);
  auto cut = store.lookup(1, 3, 3);
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.error().code, EBADMSG);
  EXPECT_NE(cut.error().message.find("truncated"), std::string::npos) << cut.error().message;
  auto first = store.lookup(1, 1, 1);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(text(*first), std::string(10000, 'a'));

  // Cut in the middle of needle 2: 2 and 3 are refused, 1 still served.
  ASSERT_EQ(::truncate(dat.c_str(), static_cast<off_t>(8 + 10100 + (1 << 20))), 0);
  EXPECT_EQ(store.lookup(1, 2, 2).error().code, EBADMSG);
  EXPECT_EQ(store.lookup(1, 3, 3).error().code, EBADMSG);
  EXPECT_TRUE(store.lookup(1, 1, 1).ok());

  // The volume server writes the tail again: served again, checked again.
  append_file(dat, v.dat, static_cast<size_t>(8 + 10100 + (1 << 20)));
  auto back = store.lookup(1, 3, 3);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(text(*back), std::string(20000, 'c'));
}

// The race the size check cannot close: the file is cut after the check, while the mapping is
// read. The SIGBUS guard answers with zeros, the read is refused and the mapping replaced.
TEST_F(VolumeStoreTest, SigbusGuardSurvivesAReadOfACutPage) {
  install_sigbus_guard();
  const std::string path = dir_.path() + "/guarded.bin";
  write_file(path, std::vector<uint8_t>(1 << 20, 0x5a));
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  auto m = DatMapping::map(fd, 2 << 20, nullptr);
  ASSERT_TRUE(m.ok()) << m.error().message;
  const auto* p = (*m)->data();
  EXPECT_EQ(p[100], 0x5a);
  EXPECT_FALSE((*m)->poisoned());
  ASSERT_EQ(::truncate(path.c_str(), 4096), 0);
  const uint64_t before = sigbus_recoveries();
  volatile uint8_t past = p[512 * 1024];  // SIGBUS without the guard
  EXPECT_EQ(past, 0);
  EXPECT_TRUE((*m)->poisoned());
  EXPECT_EQ(sigbus_recoveries(), before + 1);
  EXPECT_EQ(p[100], 0x5a);  // the rest of the mapping still mirrors the file
  ::close(fd);
}

TEST_F(VolumeStoreTest, TailsAppendsOnMiss) {
  VolumeBuilder v;
  v.put(spec(1, 1, "before"));
  write_volume("4", v);
  VolumeStore store(options());
  ASSERT_TRUE(store.load().ok());
  const size_t dat_before = v.dat.size(), idx_before = v.idx.size();
  // Large enough to need a remap past the initial mapping headroom.
  v.put(spec(2, 2, std::string(size_t{70} << 20, 'z')));
  v.put(spec(3, 3, "after"));
  append_file(dir_.path() + "/4.dat", v.dat, dat_before);
  // A partial row (writer in progress) first, then the rest.
  const std::string idx = dir_.path() + "/4.idx";
  std::vector<uint8_t> partial(v.idx.begin(), v.idx.end() - 5);
  append_file(idx, partial, idx_before);
  auto r2 = store.lookup(4, 2, 2);
  ASSERT_TRUE(r2.ok()) << r2.error().message;
  EXPECT_EQ(r2->data.size(), size_t{70} << 20);
  EXPECT_EQ(r2->data.back(), 'z');
  EXPECT_EQ(store.lookup(4, 3, 3).error().code, ENOENT);
  append_file(idx, v.idx, v.idx.size() - 5);
  auto r3 = store.lookup(4, 3, 3);
  ASSERT_TRUE(r3.ok()) << r3.error().message;
  EXPECT_EQ(text(*r3), "after");
}

TEST_F(VolumeStoreTest, MappingOutlivesRemapWhileInUse) {
  VolumeBuilder v;
  v.put(spec(1, 1, "kept alive"));
  write_volume("4", v);
  VolumeStore store(options());
  ASSERT_TRUE(store.load().ok());
  auto held = store.lookup(4, 1, 1);
  ASSERT_TRUE(held.ok());
  const size_t before = v.dat.size();
  v.put(spec(2, 2, std::string(size_t{80} << 20, 'y')));
  append_file(dir_.path() + "/4.dat", v.dat, before);
  write_file(dir_.path() + "/4.idx", v.idx);  // same inode, rows appended
  ASSERT_TRUE(store.lookup(4, 2, 2).ok());
  EXPECT_EQ(text(*held), "kept alive");  // old mapping still valid
}

TEST_F(VolumeStoreTest, VacuumReplacementIsReloaded) {
  VolumeBuilder v;
  v.put(spec(1, 1, "one"));
  v.put(spec(2, 2, "two"));
  v.remove(1, 1);
  write_volume("5", v);
  VolumeStore store(options());
  ASSERT_TRUE(store.load().ok());
  ASSERT_TRUE(store.lookup(5, 2, 2).ok());

  // Compacted copy: revision +1, only live needles, new offsets, plus a new one.
  VolumeBuilder c(3, 5, /*revision=*/1);
  c.put(spec(2, 2, "two"));
  c.put(spec(3, 3, "three"));
  replace_file(dir_.path() + "/5.dat", c.dat);
  replace_file(dir_.path() + "/5.idx", c.idx);

  // Hits are still served from the old generation; a miss notices the swap and asks to retry.
  EXPECT_TRUE(store.lookup(5, 2, 2).ok());
  EXPECT_EQ(store.lookup(5, 3, 3).error().code, EAGAIN);
  store.refresh();
  auto r = store.lookup(5, 3, 3);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(text(*r), "three");
  EXPECT_EQ(store.lookup(5, 1, 1).error().code, ENOENT);  // vacuumed away
  EXPECT_EQ(store.stats()[0].compaction_revision, 1);
}

TEST_F(VolumeStoreTest, ReloadWaitsForCompactionMarkerAndMatchingPair) {
  VolumeBuilder v;
  v.put(spec(1, 1, "one"));
  write_volume("6", v);
  VolumeStore store(options());
  ASSERT_TRUE(store.load().ok());
  VolumeBuilder c(3, 5, 1);
  c.put(spec(9, 9, std::string(100, 'n')));
  std::ofstream(dir_.path() + "/6.cpc") << "";
  replace_file(dir_.path() + "/6.dat", c.dat);  // .idx not renamed yet
  store.refresh();
  EXPECT_EQ(store.lookup(6, 9, 9).error().code, EAGAIN);
  EXPECT_TRUE(store.lookup(6, 1, 1).ok());
  replace_file(dir_.path() + "/6.idx", c.idx);
  fs::remove(dir_.path() + "/6.cpc");
  store.refresh();
  EXPECT_TRUE(store.lookup(6, 9, 9).ok());
}

TEST_F(VolumeStoreTest, VolumesAppearAndDisappear) {
  VolumeStore store(options());
  ASSERT_TRUE(store.load().ok());
  EXPECT_EQ(store.volume_count(), 0u);
  VolumeBuilder v;
  v.put(spec(1, 1, "new volume"));
  write_volume("9", v);
  auto r = store.lookup(9, 1, 1);  // unknown vid triggers a rescan
  ASSERT_TRUE(r.ok()) << r.error().message;
  fs::remove(dir_.path() + "/9.dat");
  fs::remove(dir_.path() + "/9.idx");
  store.refresh();
  EXPECT_EQ(store.lookup(9, 1, 1).error().code, ENXIO);
  EXPECT_EQ(text(*r), "new volume");  // data of a read in flight stays mapped
}

TEST_F(VolumeStoreTest, BackgroundRefresherPicksUpReplacement) {
  VolumeBuilder v;
  v.put(spec(1, 1, "one"));
  write_volume("2", v);
  VolumeStore store(options());
  ASSERT_TRUE(store.load().ok());
  store.start_refresher(std::chrono::milliseconds(20));
  VolumeBuilder c(3, 5, 1);
  c.put(spec(4, 4, "four"));
  replace_file(dir_.path() + "/2.dat", c.dat);
  replace_file(dir_.path() + "/2.idx", c.idx);
  bool ok = false;
  for (int i = 0; i < 200 && !ok; ++i) {
    ok = store.lookup(2, 4, 4).ok();
    if (!ok) ::usleep(10000);
  }
  EXPECT_TRUE(ok);
  store.stop_refresher();
}

TEST_F(VolumeStoreTest, MissingDirIsAnError) {
  StoreOptions o;
  o.dirs = {dir_.path() + "/nope"};
  VolumeStore store(o);
  auto s = store.load();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ENOENT);
}

TEST_F(VolumeStoreTest, BadVolumesAreSkipped) {
  write_file(dir_.path() + "/3.dat", {9, 9, 9});  // bad superblock
  write_file(dir_.path() + "/3.idx", {});
  VolumeBuilder v;
  v.put(spec(1, 1, "ok"));
  write_volume("4", v);
  write_file(dir_.path() + "/10.dat", v.dat);  // no .idx: not a volume yet
  VolumeStore store(options());
  ASSERT_TRUE(store.load().ok());
  EXPECT_EQ(store.volume_count(), 1u);
}

TEST(VolumeFiles, ParsesDatNames) {
  EXPECT_EQ(parse_dat_name("12.dat")->second, 12u);
  EXPECT_EQ(parse_dat_name("12.dat")->first, "");
  EXPECT_EQ(parse_dat_name("a_b_7.dat")->first, "a_b");
  EXPECT_EQ(parse_dat_name("a_b_7.dat")->second, 7u);
  EXPECT_FALSE(parse_dat_name("7.idx"));
  EXPECT_FALSE(parse_dat_name("x.dat"));
  EXPECT_FALSE(parse_dat_name("_7.dat"));
  EXPECT_FALSE(parse_dat_name("0.dat"));
  EXPECT_FALSE(parse_dat_name("99999999999.dat"));
}

}  // namespace
}  // namespace seaweed::agent

#include "fuse/filesystem.h"

#include <gtest/gtest.h>

#include <thread>

#include "fakes.h"

namespace seaweed::fuse {
namespace {

using testing::dir_entry;
using testing::FakeMetadataSource;
using testing::FakeVolumes;
using testing::file_entry;
using testing::needle_bytes;

struct RecordingNotifier : KernelNotifier {
  void inval_inode(uint64_t ino, bool data) override {
    std::lock_guard lock(mu);
    inodes.emplace_back(ino, data);
  }
  void inval_entry(uint64_t parent, const std::string& name) override {
    std::lock_guard lock(mu);
    entries.emplace_back(parent, name);
  }
  std::mutex mu;
  std::vector<std::pair<uint64_t, bool>> inodes;
  std::vector<std::pair<uint64_t, std::string>> entries;
};

MountOptions test_options() {
  MountOptions o;
  o.filer_path = "/";
  o.cache_meta_ttl_sec = 1;
  o.prefetch_threads = 1;
  o.prefetch_mb = 8;
  o.prefetch_blocks = 2;
  return o;
}

struct FsTest : ::testing::Test {
  FakeMetadataSource source;
  FakeVolumes volumes;
  std::unique_ptr<FileSystem> fs;
  RecordingNotifier notes;

  void SetUp() override {
    source.put_silently("/d", dir_entry("d"));
    for (int i = 0; i < 5; ++i) source.put_silently("/d/f" + std::to_string(i), file_entry("", 100 + i, 5000));
    make_fs(test_options());
  }
  void TearDown() override {
    if (fs) fs->set_notifier(nullptr);
  }
  void make_fs(MountOptions o) {
    fs = std::make_unique<FileSystem>(o, source, volumes);
    fs->set_notifier(&notes);
    fs->start_subscription(0);
  }

  // Looks a path up component by component, as the kernel does; each step takes a reference.
  Result<fuse_entry_param> walk(const std::string& path) {
    fuse_entry_param p{};
    p.ino = InodeTable::kRoot;
    size_t pos = 1;
    while (pos < path.size()) {
      size_t slash = path.find('/', pos);
      if (slash == std::string::npos) slash = path.size();
      auto r = fs->lookup(p.ino, path.substr(pos, slash - pos));
      if (!r.ok()) return r.error();
      if (r->ino == 0) return make_error(ENOENT, path);
      p = *r;
      pos = slash + 1;
    }
    return p;
  }
  uint64_t ino_of(const std::string& path) {
    auto r = walk(path);
    EXPECT_TRUE(r.ok()) << path;
    return r.ok() ? r->ino : 0;
  }
  uint64_t open(uint64_t ino, bool* keep = nullptr) {
    bool keep_cache = false;
    auto fh = fs->open(ino, O_RDONLY, keep_cache);
    EXPECT_TRUE(fh.ok()) << (fh.ok() ? "" : fh.error().message);
    if (keep) *keep = keep_cache;
    return fh.ok() ? *fh : 0;
  }
  Result<std::string> read(uint64_t fh, uint64_t off, size_t len) {
    std::string scratch(len, '\0');
    reader::ReadPieces pieces;
    auto st = fs->read_pieces(fh, off, std::span<char>(scratch), pieces);
    if (!st.ok()) return st.error();
    std::string out(pieces.bytes, '\0');
    pieces.copy_to(std::span<char>(out));
    return out;
  }
};

TEST_F(FsTest, ForgetReleasesTheInodeWithItsEntryAndLayout) {
  const uint64_t dir = ino_of("/d");
  const uint64_t ino = ino_of("/d/f1");
  const uint64_t fh = open(ino);
  ASSERT_EQ(*read(fh, 0, 100), needle_bytes(101, 0, 100));
  fs->release(fh);
  EXPECT_EQ(fs->inodes().size(), 3u);  // root, /d, /d/f1
  EXPECT_EQ(fs->cache_stats().layouts, 1u);
  const size_t entries = fs->cache_stats().entries;

  fs->forget(ino, 1);
  EXPECT_EQ(fs->inodes().size(), 2u);
  EXPECT_FALSE(fs->inodes().path(ino).has_value());
  EXPECT_EQ(fs->cache_stats().layouts, 0u);
  EXPECT_EQ(fs->cache_stats().entries, entries - 1);
  EXPECT_EQ(fs->getattr(ino).error().code, ESTALE);

  // The next lookup gets a new number; the directory's inode stayed.
  const uint64_t again = ino_of("/d/f1");
  EXPECT_NE(again, ino);
  EXPECT_EQ(ino_of("/d"), dir);
  fs->forget(InodeTable::kRoot, 1000);  // the root is never released
  EXPECT_TRUE(fs->getattr(InodeTable::kRoot).ok());
}

TEST_F(FsTest, InodeNumbersAreStableWhileTheKernelHoldsThem) {
  const uint64_t a = ino_of("/d/f2");
  EXPECT_EQ(ino_of("/d/f2"), a);
  EXPECT_EQ(fs->inodes().lookups(a), 2u);
  fs->forget(a, 1);
  EXPECT_EQ(ino_of("/d/f2"), a);  // still held once
  // A file deleted and created again while the kernel still holds the old inode keeps it.
  source.remove("/d/f2");
  source.put("/d/f2", file_entry("", 777, 10));
  EXPECT_EQ(ino_of("/d/f2"), a);
  auto st = fs->getattr(a);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->st_size, 10);
}

TEST_F(FsTest, KeepCacheOnlyForUnchangedContent) {
  const uint64_t ino = ino_of("/d/f0");
  bool keep = true;
  fs->release(open(ino, &keep));
  EXPECT_FALSE(keep);  // first open
  fs->release(open(ino, &keep));
  EXPECT_TRUE(keep);  // same content
  // An attribute change (chmod) keeps the content version: pages stay.
  auto chmod = file_entry("", 100, 5000);
  chmod.mutable_attributes()->set_file_mode(0600);
  source.put("/d/f0", chmod);
  fs->release(open(ino, &keep));
  EXPECT_TRUE(keep);
  // New chunks: the kernel must drop its pages, and the next open must not keep them.
  source.put("/d/f0", file_entry("", 300, 5000));
  {
    std::lock_guard lock(notes.mu);
    ASSERT_FALSE(notes.inodes.empty());
    EXPECT_EQ(notes.inodes.back(), std::make_pair(ino, true));
  }
  const uint64_t fh = open(ino, &keep);
  EXPECT_FALSE(keep);
  EXPECT_EQ(*read(fh, 0, 64), needle_bytes(300, 0, 64));
  fs->release(fh);
  fs->release(open(ino, &keep));
  EXPECT_TRUE(keep);
}

TEST_F(FsTest, NegativeDentriesFromTheListingAndNewNamesFromEvents) {
  const uint64_t dir = ino_of("/d");
  auto dh = fs->opendir(dir);
  ASSERT_TRUE(dh.ok());
  EXPECT_EQ(fs->dir(*dh)->entries.size(), 5u);
  fs->releasedir(*dh);
  const int lookups = source.lookups.load();
  auto miss = fs->lookup(dir, "absent");
  ASSERT_TRUE(miss.ok());
  EXPECT_EQ(miss->ino, 0u);
  EXPECT_EQ(source.lookups.load(), lookups);  // answered by the listing
  source.put("/d/absent", file_entry("", 900, 3));
  {
    std::lock_guard lock(notes.mu);
    EXPECT_EQ(notes.entries.back(), std::make_pair(dir, std::string("absent")));  // the kernel's negative dentry goes
  }
  auto hit = fs->lookup(dir, "absent");
  ASSERT_TRUE(hit.ok());
  EXPECT_NE(hit->ino, 0u);
  EXPECT_EQ(hit->attr.st_size, 3);
}

TEST_F(FsTest, RenameMovesOpenHandlesAndDeleteSupersedesThem) {
  const uint64_t dir = ino_of("/d");
  const uint64_t ino = ino_of("/d/f3");
  const uint64_t fh = open(ino);
  source.rename("/d/f3", "/d/moved");
  auto file = fs->open_file(fh);
  EXPECT_EQ(file->current_path(), "/d/moved");
  EXPECT_FALSE(file->superseded.load());  // a rename keeps the content
  EXPECT_EQ(*read(fh, 10, 100), needle_bytes(103, 10, 100));
  EXPECT_EQ(volumes.allow_deleted_reads.load(), 0);
  {
    std::lock_guard lock(notes.mu);
    auto has = [&](const std::string& name) {
      return std::count(notes.entries.begin(), notes.entries.end(), std::make_pair(dir, name)) > 0;
    };
    EXPECT_TRUE(has("f3"));
    EXPECT_TRUE(has("moved"));
  }
  auto gone = fs->lookup(dir, "f3");
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone->ino, 0u);

  // Deleted: the volume server deletes the needle too; the open handle still reads its bytes.
  source.remove("/d/moved");
  volumes.mark_deleted(103);
  EXPECT_TRUE(file->superseded.load());
  EXPECT_EQ(*read(fh, 4000, 1000), needle_bytes(103, 4000, 1000));
  EXPECT_GT(volumes.deleted_reads.load(), 0);
  fs->release(fh);

  // Every other read asks for live needles only.
  const uint64_t other = open(ino_of("/d/f4"));
  EXPECT_EQ(*read(other, 0, 5000), needle_bytes(104, 0, 5000));
  EXPECT_EQ(volumes.allow_deleted_reads_of(104), 0);
  fs->release(other);
}

TEST_F(FsTest, AnOverwrittenFileKeepsItsSnapshotForOpenHandles) {
  const uint64_t ino = ino_of("/d/f1");
  const uint64_t old_fh = open(ino);
  source.put("/d/f1", file_entry("", 500, 3000));  // new chunks; the old needle is deleted
  volumes.mark_deleted(101);
  EXPECT_TRUE(fs->open_file(old_fh)->superseded.load());
  EXPECT_EQ(*read(old_fh, 0, 5000), needle_bytes(101, 0, 5000));
  const uint64_t new_fh = open(ino);
  EXPECT_FALSE(fs->open_file(new_fh)->superseded.load());
  EXPECT_EQ(*read(new_fh, 0, 5000), needle_bytes(500, 0, 3000));
  EXPECT_EQ(volumes.allow_deleted_reads_of(500), 0);
  fs->release(old_fh);
  fs->release(new_fh);
}

TEST_F(FsTest, AMissingNeedleBeforeTheEventIsRecheckedWithTheFiler) {
  const uint64_t ino = ino_of("/d/f2");
  const uint64_t fh = open(ino);
  // Overwritten and the needle deleted, but the event has not arrived.
  source.put_silently("/d/f2", file_entry("", 600, 10));
  volumes.mark_deleted(102);
  EXPECT_EQ(*read(fh, 100, 200), needle_bytes(102, 100, 200));
  EXPECT_TRUE(fs->open_file(fh)->superseded.load());
  fs->release(fh);

  // A needle missing while the entry is unchanged is an error, read without allow_deleted.
  const uint64_t fh2 = open(ino_of("/d/f3"));
  volumes.mark_deleted(103);
  auto r = read(fh2, 0, 10);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, EIO);
  EXPECT_FALSE(fs->open_file(fh2)->superseded.load());
  EXPECT_EQ(volumes.allow_deleted_reads_of(103), 0);
  fs->release(fh2);

  // Deleted without an event yet: the same.
  const uint64_t fh3 = open(ino_of("/d/f4"));
  source.remove_silently("/d/f4");
  volumes.mark_deleted(104);
  EXPECT_EQ(*read(fh3, 0, 10), needle_bytes(104, 0, 10));
  fs->release(fh3);
}

TEST_F(FsTest, ReaddirplusReferencesOnlyWhatItHandsOut) {
  const uint64_t dir = ino_of("/d");
  auto dh = fs->opendir(dir);
  ASSERT_TRUE(dh.ok());
  auto od = fs->dir(*dh);
  EXPECT_EQ(fs->known_child(*od, "f0"), kUnknownIno);
  const uint64_t f0 = fs->reference_child(*od, "f0");
  EXPECT_EQ(fs->known_child(*od, "f0"), f0);
  EXPECT_EQ(ino_of("/d/f0"), f0);
  EXPECT_EQ(fs->inodes().lookups(f0), 2u);
  fs->releasedir(*dh);
  fs->forget(f0, 2);
  EXPECT_EQ(fs->inodes().size(), 2u);
}

TEST_F(FsTest, AGapDropsCachesAndInvalidatesEveryInode) {
  const uint64_t ino = ino_of("/d/f0");
  fs->release(open(ino));
  source.gap();
  const auto stats = fs->cache_stats();
  EXPECT_EQ(stats.listings + stats.layouts, 0u);
  // Entries are kept expired (the last known state while the filer is unreachable): the next
  // getattr asks the filer.
  const int lookups = source.lookups.load();
  EXPECT_TRUE(fs->getattr(ino).ok());
  EXPECT_EQ(source.lookups.load(), lookups + 1);
  std::lock_guard lock(notes.mu);
  EXPECT_NE(std::find(notes.inodes.begin(), notes.inodes.end(), std::make_pair(ino, true)), notes.inodes.end());
}

TEST_F(FsTest, StatfsAndXattrs) {
  auto e = file_entry("", 100, 1);
  (*e.mutable_extended())["xattr-user.k"] = "v";
  source.put("/d/x", e);
  const uint64_t ino = ino_of("/d/x");
  EXPECT_EQ(*fs->getxattr(ino, "user.k"), "v");
  EXPECT_EQ(fs->getxattr(ino, "user.none").error().code, ENODATA);
  EXPECT_EQ(*fs->listxattr(ino), std::string("user.k\0", 7));
  auto st = fs->statfs();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->f_blocks, (uint64_t{1} << 30) / 4096);
}

// Lookups, opens, reads and forgets on several threads while events change the files: no data
// race (run under TSan by scripts/check.sh), and every read returns the bytes of some version.
TEST_F(FsTest, ConcurrentOpsAndEvents) {
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 300 && !stop.load(); ++i) {
        const std::string name = "f" + std::to_string((t + i) % 5);
        auto dir = walk("/d");
        if (!dir.ok()) continue;
        auto r = fs->lookup(dir->ino, name);
        fs->forget(dir->ino, 1);
        if (!r.ok() || r->ino == 0) continue;
        bool keep = false;
        auto fh = fs->open(r->ino, O_RDONLY, keep);
        if (fh.ok()) {
          auto bytes = read(*fh, 0, 64);
          if (bytes.ok() && bytes->size() > 64) bad++;
          fs->release(*fh);
        }
        if (i % 3 == 0) fs->forget(r->ino, 1);
      }
    });
  }
  for (int i = 0; i < 200; ++i) {
    const std::string path = "/d/f" + std::to_string(i % 5);
    if (i % 7 == 0)
      source.remove(path);
    else
      source.put(path, file_entry("", 1000 + i, 64 + i % 3));
  }
  stop = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
}  // namespace seaweed::fuse

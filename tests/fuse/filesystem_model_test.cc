// A randomized sequence of kernel requests (lookups, forgets, getattr, open/read/release,
// readdirplus) and filer events (create, overwrite, delete, rename, a stream gap) against a
// FileSystem with a small metadata cache, checked step by step against a model: what the filer
// holds (the fake's store) and which inodes the kernel holds with how many references.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "fakes.h"
#include "fuse/filesystem.h"

namespace seaweed::fuse {
namespace {

using testing::dir_entry;
using testing::FakeMetadataSource;
using testing::FakeVolumes;
using testing::file_entry;
using testing::needle_bytes;

constexpr int kDirs = 20;
constexpr int kNames = 100;

struct Snapshot {
  uint64_t key = 0;
  uint64_t size = 0;
};

class ModelRun {
 public:
  explicit ModelRun(uint64_t seed) : rng_(seed) {
    for (int d = 0; d < kDirs; ++d) {
      source_.put_silently(dir_path(d), dir_entry(""));
      for (int n = 0; n < kNames; ++n)
        if (rng_() % 3 != 0) source_.put_silently(file_path(d, n), file_entry("", next_key_++, 1 + rng_() % 3000));
    }
    MountOptions o;
    o.filer_path = "/";
    o.cache_meta_bytes = 64 << 10;  // far less than the metadata walked: evictions all along
    o.prefetch_threads = 1;
    o.prefetch_mb = 4;
    o.prefetch_blocks = 1;
    fs_ = std::make_unique<FileSystem>(o, source_, volumes_);
    fs_->start_subscription(0);
  }
  ~ModelRun() {
    for (auto& [fh, snap] : handles_) fs_->release(fh);
  }

  void step() {
    const int op = static_cast<int>(rng_() % 100);
    if (op < 30)
      lookup();
    else if (op < 48)
      forget();
    else if (op < 66)
      event();
    else if (op < 74)
      getattr();
    else if (op < 84)
      open_and_read();
    else if (op < 90)
      read_open_handle();
    else if (op < 94)
      release();
    else if (op < 99)
      readdirplus();
    else
      source_.gap();
    check_invariants();
  }

  int steps_with_evictions() const { return static_cast<int>(fs_->cache_stats().evictions); }
  int deleted_reads() const { return volumes_.deleted_reads.load(); }

 private:
  static std::string dir_path(int d) { return "/d" + std::to_string(d); }
  static std::string file_path(int d, int n) { return dir_path(d) + "/n" + std::to_string(n); }

  // The kernel takes a reference for every entry it receives.
  void hold(uint64_t ino, const std::string& path) {
    auto by_path = path_to_ino_.find(path);
    if (by_path != path_to_ino_.end()) {
      // A path the kernel holds keeps its number.
      ASSERT_EQ(by_path->second, ino) << path;
    } else {
      // A new number never names another inode the kernel holds.
      ASSERT_EQ(held_.count(ino), 0u) << path << " got " << ino << " held by " << held_[ino].first;
      path_to_ino_[path] = ino;
    }
    auto& h = held_[ino];
    h.first = path;
    h.second++;
  }
  uint64_t dir_ino(int d) {
    auto it = path_to_ino_.find(dir_path(d));
    if (it != path_to_ino_.end()) return it->second;
    auto r = fs_->lookup(InodeTable::kRoot, "d" + std::to_string(d));
    EXPECT_TRUE(r.ok() && r->ino != 0);
    hold(r->ino, dir_path(d));
    return r->ino;
  }
  uint64_t random_held() {
    if (held_.empty()) return 0;
    auto it = held_.begin();
    std::advance(it, static_cast<long>(rng_() % held_.size()));
    return it->first;
  }

  void lookup() {
    const int d = static_cast<int>(rng_() % kDirs), n = static_cast<int>(rng_() % (kNames + 5));
    const uint64_t parent = dir_ino(d);
    const std::string path = file_path(d, n);
    auto r = fs_->lookup(parent, "n" + std::to_string(n));
    ASSERT_TRUE(r.ok()) << r.error().message;
    auto truth = source_.get(path);
    ASSERT_EQ(r->ino != 0, truth.has_value()) << path;
    if (!truth) return;
    ASSERT_EQ(static_cast<uint64_t>(r->attr.st_size), truth->attributes().file_size()) << path;
    ASSERT_EQ(r->attr.st_ino, r->ino);
    hold(r->ino, path);
  }

  void forget() {
    const uint64_t ino = random_held();
    if (!ino) return;
    auto& h = held_[ino];
    const uint64_t count = 1 + rng_() % h.second;
    fs_->forget(ino, count);
    h.second -= count;
    if (h.second == 0) {
      path_to_ino_.erase(h.first);
      held_.erase(ino);
    }
  }

  void event() {
    const int d = static_cast<int>(rng_() % kDirs), n = static_cast<int>(rng_() % kNames);
    const std::string path = file_path(d, n);
    auto old = source_.get(path);
    const int kind = static_cast<int>(rng_() % 10);
    if (!old) {
      source_.put(path, file_entry("", next_key_++, 1 + rng_() % 3000));
    } else if (kind < 4) {  // overwrite with new chunks: the old needle is deleted
      source_.put(path, file_entry("", next_key_++, 1 + rng_() % 3000));
      volumes_.mark_deleted(key_of(*old));
    } else if (kind < 7) {  // delete
      source_.remove(path);
      volumes_.mark_deleted(key_of(*old));
    } else {  // rename, possibly onto an existing file (whose needle goes)
      const std::string to = file_path(static_cast<int>(rng_() % kDirs), static_cast<int>(rng_() % kNames));
      if (to == path) return;
      auto replaced = source_.get(to);
      source_.rename(path, to);
      if (replaced) volumes_.mark_deleted(key_of(*replaced));
    }
  }
  static uint64_t key_of(const filer_pb::Entry& e) { return FileId::parse(e.chunks(0).file_id())->key; }

  void getattr() {
    const uint64_t ino = random_held();
    if (!ino) return;
    const std::string path = held_[ino].first;
    auto st = fs_->getattr(ino);
    auto truth = source_.get(path);
    if (!truth) {
      ASSERT_FALSE(st.ok()) << path;
      ASSERT_EQ(st.error().code, ENOENT);
      return;
    }
    ASSERT_TRUE(st.ok()) << path << ": " << st.error().message;
    ASSERT_EQ(st->st_ino, ino);
    if (!truth->is_directory()) {
      ASSERT_EQ(static_cast<uint64_t>(st->st_size), truth->attributes().file_size());
    }
  }

  void open_and_read() {
    const uint64_t ino = random_held();
    if (!ino) return;
    const std::string path = held_[ino].first;
    auto truth = source_.get(path);
    bool keep = false;
    auto fh = fs_->open(ino, O_RDONLY, keep);
    if (!truth) {
      ASSERT_FALSE(fh.ok());
      return;
    }
    if (truth->is_directory()) {
      ASSERT_EQ(fh.error().code, EISDIR);
      return;
    }
    ASSERT_TRUE(fh.ok()) << fh.error().message;
    handles_[*fh] = Snapshot{key_of(*truth), truth->attributes().file_size()};
    check_read(*fh);
  }

  void read_open_handle() {
    if (handles_.empty()) return;
    auto it = handles_.begin();
    std::advance(it, static_cast<long>(rng_() % handles_.size()));
    check_read(it->first);
  }

  void check_read(uint64_t fh) {
    const Snapshot snap = handles_[fh];
    const uint64_t off = rng_() % (snap.size + 10);
    const size_t len = 1 + rng_() % 4000;
    std::string scratch(len, '\0');
    reader::ReadPieces pieces;
    auto st = fs_->read_pieces(fh, off, std::span<char>(scratch), pieces);
    ASSERT_TRUE(st.ok()) << st.error().message;
    std::string got(pieces.bytes, '\0');
    pieces.copy_to(std::span<char>(got));
    const size_t want = off >= snap.size ? 0 : std::min<uint64_t>(len, snap.size - off);
    ASSERT_EQ(got, needle_bytes(snap.key, off, want)) << "fh " << fh << " at " << off;
  }

  void release() {
    if (handles_.empty()) return;
    auto it = handles_.begin();
    std::advance(it, static_cast<long>(rng_() % handles_.size()));
    fs_->release(it->first);
    handles_.erase(it);
  }

  void readdirplus() {
    const int d = static_cast<int>(rng_() % kDirs);
    const uint64_t ino = dir_ino(d);
    auto dh = fs_->opendir(ino);
    ASSERT_TRUE(dh.ok());
    auto dir = fs_->dir(*dh);
    std::vector<std::string> names, truth_names;
    for (const auto& e : dir->entries) names.push_back(e.name);
    for (int n = 0; n < kNames + 5; ++n)
      if (source_.get(file_path(d, n))) truth_names.push_back("n" + std::to_string(n));
    std::sort(names.begin(), names.end());
    std::sort(truth_names.begin(), truth_names.end());
    ASSERT_EQ(names, truth_names);
    // The kernel receives the first few (its buffer is full after them).
    const size_t handed = std::min<size_t>(dir->entries.size(), rng_() % 8);
    for (size_t i = 0; i < handed; ++i) {
      const uint64_t child = fs_->reference_child(*dir, dir->entries[i].name);
      hold(child, dir_path(d) + "/" + dir->entries[i].name);
    }
    fs_->releasedir(*dh);
  }

  void check_invariants() {
    ASSERT_EQ(fs_->inodes().size(), 1 + held_.size());  // the root and what the kernel holds
    for (const auto& [ino, h] : held_) ASSERT_EQ(fs_->inodes().lookups(ino), h.second);
    auto s = fs_->cache_stats();
    ASSERT_LE(s.bytes, s.capacity);
  }

  std::mt19937_64 rng_;
  FakeMetadataSource source_;
  FakeVolumes volumes_;
  std::unique_ptr<FileSystem> fs_;
  uint64_t next_key_ = 1;
  std::map<uint64_t, std::pair<std::string, uint64_t>> held_;  // ino -> path, references
  std::map<std::string, uint64_t> path_to_ino_;
  std::map<uint64_t, Snapshot> handles_;
};

TEST(FileSystemModel, RandomRequestsAndEventsMatchTheModel) {
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    ModelRun run(seed);
    for (int i = 0; i < 4000; ++i) {
      run.step();
      if (::testing::Test::HasFatalFailure()) return;
    }
    EXPECT_GT(run.steps_with_evictions(), 0);  // the bound was exercised
    EXPECT_GT(run.deleted_reads(), 0);         // superseded handles read deleted needles
  }
}

}  // namespace
}  // namespace seaweed::fuse

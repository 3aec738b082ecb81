// seaweed-nullfs: a read-only null FUSE file system, the FUSE ceiling for the benchmark.
//
// Every READ is answered with fuse_reply_buf from one preallocated buffer, so the daemon does no work
// besides the FUSE protocol itself. The tree mirrors the benchmark data set:
//
//   /<set>/fNNNNNN   for every --set NAME:COUNT:SIZE   (SIZE accepts K/M/G suffixes, powers of 1024)
//
// It is configured like seaweed-rdma-mount (libfuse3 low-level API, multithreaded loop with 16 threads,
// async reads, readdirplus, bdi read_ahead_kb raised to --readahead-kb) so that the only difference from
// the real client is what happens inside the READ handler.
//
//   seaweed-nullfs [--set NAME:COUNT:SIZE]... [--direct-io] [--threads N] [--readahead-kb N]
//                  [--debug] MOUNTPOINT
//
// Runs in the foreground; SIGTERM/SIGINT/SIGHUP unmount and exit.

#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 312
#endif
#include <fcntl.h>
#include <fuse3/fuse_lowlevel.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr fuse_ino_t kRootIno = FUSE_ROOT_ID;  // 1
constexpr size_t kBufSize = 4u << 20;          // larger than any READ the kernel sends (max_pages=256)

struct FileSet {
  std::string name;
  uint64_t count = 0;
  uint64_t size = 0;
  fuse_ino_t dir_ino = 0;
  fuse_ino_t first_ino = 0;  // files are first_ino .. first_ino+count-1
};

struct Config {
  std::vector<FileSet> sets;
  bool direct_io = false;
  unsigned threads = 16;
  long readahead_kb = 1024;
  bool debug = false;
  std::string mountpoint;
};

Config g_cfg;
char* g_buf = nullptr;
time_t g_start = 0;

uint64_t parse_size(const std::string& s) {
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  uint64_t mul = 1;
  if (end && *end) {
    switch (*end) {
      case 'k':
      case 'K':
        mul = 1ull << 10;
        break;
      case 'm':
      case 'M':
        mul = 1ull << 20;
        break;
      case 'g':
      case 'G':
        mul = 1ull << 30;
        break;
      case 't':
      case 'T':
        mul = 1ull << 40;
        break;
      default:
        std::fprintf(stderr, "nullfs: bad size '%s'\n", s.c_str());
        std::exit(2);
    }
  }
  return static_cast<uint64_t>(v * static_cast<double>(mul));
}

// Inode layout: 1 root, 2..1+nsets directories, then the files of each set in order.
void assign_inodes() {
  fuse_ino_t next = kRootIno + 1;
  for (auto& s : g_cfg.sets) s.dir_ino = next++;
  for (auto& s : g_cfg.sets) {
    s.first_ino = next;
    next += s.count;
  }
}

const FileSet* set_of_dir(fuse_ino_t ino) {
  for (auto& s : g_cfg.sets)
    if (s.dir_ino == ino) return &s;
  return nullptr;
}

const FileSet* set_of_file(fuse_ino_t ino, uint64_t* index) {
  for (auto& s : g_cfg.sets) {
    if (ino >= s.first_ino && ino < s.first_ino + s.count) {
      if (index) *index = ino - s.first_ino;
      return &s;
    }
  }
  return nullptr;
}

std::string file_name(uint64_t i) {
  char b[32];
  std::snprintf(b, sizeof b, "f%06llu", static_cast<unsigned long long>(i));
  return b;
}

bool fill_stat(fuse_ino_t ino, struct stat* st) {
  std::memset(st, 0, sizeof *st);
  st->st_ino = ino;
  st->st_uid = 0;
  st->st_gid = 0;
  st->st_atime = st->st_mtime = st->st_ctime = g_start;
  st->st_blksize = 1 << 20;
  if (ino == kRootIno) {
    st->st_mode = S_IFDIR | 0755;
    st->st_nlink = 2;
    return true;
  }
  if (set_of_dir(ino)) {
    st->st_mode = S_IFDIR | 0755;
    st->st_nlink = 2;
    return true;
  }
  if (const FileSet* s = set_of_file(ino, nullptr)) {
    st->st_mode = S_IFREG | 0444;
    st->st_nlink = 1;
    st->st_size = static_cast<off_t>(s->size);
    st->st_blocks = static_cast<blkcnt_t>((s->size + 511) / 512);
    return true;
  }
  return false;
}

void fill_entry(fuse_ino_t ino, fuse_entry_param* e) {
  std::memset(e, 0, sizeof *e);
  e->ino = ino;
  e->generation = 1;
  e->attr_timeout = 1.0;  // same as seaweed-rdma-mount's -cacheMetaTtlSec default
  e->entry_timeout = 1.0;
  fill_stat(ino, &e->attr);
}

void op_init(void*, fuse_conn_info* conn) {
  if (conn->capable & FUSE_CAP_ASYNC_READ) conn->want |= FUSE_CAP_ASYNC_READ;
  if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS;
  if (conn->capable & FUSE_CAP_READDIRPLUS_AUTO) conn->want |= FUSE_CAP_READDIRPLUS_AUTO;
  conn->want &= ~static_cast<unsigned>(FUSE_CAP_WRITEBACK_CACHE);
  conn->max_readahead = std::max<unsigned>(conn->max_readahead, 1u << 20);
  conn->max_background = 64;
}

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  fuse_entry_param e;
  if (parent == kRootIno) {
    for (auto& s : g_cfg.sets) {
      if (s.name == name) {
        fill_entry(s.dir_ino, &e);
        fuse_reply_entry(req, &e);
        return;
      }
    }
    fuse_reply_err(req, ENOENT);
    return;
  }
  const FileSet* s = set_of_dir(parent);
  if (!s) {
    fuse_reply_err(req, ENOTDIR);
    return;
  }
  // names are f%06llu
  if (name[0] != 'f' || name[1] == 0) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  char* end = nullptr;
  const unsigned long long i = std::strtoull(name + 1, &end, 10);
  if (*end != 0 || i >= s->count || file_name(i) != name) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  fill_entry(s->first_ino + i, &e);
  fuse_reply_entry(req, &e);
}

void op_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  struct stat st;
  if (!fill_stat(ino, &st)) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  fuse_reply_attr(req, &st, 1.0);
}

void op_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  if (!set_of_file(ino, nullptr)) {
    fuse_reply_err(req, set_of_dir(ino) || ino == kRootIno ? EISDIR : ENOENT);
    return;
  }
  if ((fi->flags & O_ACCMODE) != O_RDONLY) {
    fuse_reply_err(req, EROFS);
    return;
  }
  fi->direct_io = g_cfg.direct_io ? 1 : 0;
  fi->keep_cache = 0;  // every open is cold, like a fresh mount
  fuse_reply_open(req, fi);
}

void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  const FileSet* s = set_of_file(ino, nullptr);
  if (!s) {
    fuse_reply_err(req, EBADF);
    return;
  }
  const uint64_t uoff = static_cast<uint64_t>(off);
  if (uoff >= s->size) {
    fuse_reply_buf(req, nullptr, 0);
    return;
  }
  size_t n = static_cast<size_t>(std::min<uint64_t>(size, s->size - uoff));
  n = std::min(n, kBufSize);
  fuse_reply_buf(req, g_buf, n);
}

void op_release(fuse_req_t req, fuse_ino_t, fuse_file_info*) { fuse_reply_err(req, 0); }

void op_opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  if (ino != kRootIno && !set_of_dir(ino)) {
    fuse_reply_err(req, ENOTDIR);
    return;
  }
  fi->cache_readdir = 0;
  fuse_reply_open(req, fi);
}

// Directory offsets: 0 = start, k>0 = after the k-th entry (".", "..", then the children).
void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, bool plus) {
  std::vector<char> buf(size);
  size_t used = 0;
  struct Child {
    std::string name;
    fuse_ino_t ino;
  };
  uint64_t nchildren = 0;
  const FileSet* s = nullptr;
  if (ino == kRootIno) {
    nchildren = g_cfg.sets.size();
  } else if ((s = set_of_dir(ino))) {
    nchildren = s->count;
  } else {
    fuse_reply_err(req, ENOTDIR);
    return;
  }
  const uint64_t total = nchildren + 2;
  for (uint64_t k = static_cast<uint64_t>(off); k < total; ++k) {
    Child c;
    if (k == 0) {
      c = {".", ino};
    } else if (k == 1) {
      c = {"..", kRootIno};
    } else if (ino == kRootIno) {
      const FileSet& fs = g_cfg.sets[k - 2];
      c = {fs.name, fs.dir_ino};
    } else {
      c = {file_name(k - 2), s->first_ino + (k - 2)};
    }
    size_t need;
    if (plus) {
      fuse_entry_param e;
      const bool dot = k < 2;
      fill_entry(c.ino, &e);
      if (dot) {
        // "." and ".." must not carry a lookup reference
        fuse_entry_param z;
        std::memset(&z, 0, sizeof z);
        z.attr = e.attr;
        e = z;
      }
      need = fuse_add_direntry_plus(req, buf.data() + used, size - used, c.name.c_str(), &e, static_cast<off_t>(k + 1));
    } else {
      struct stat st;
      std::memset(&st, 0, sizeof st);
      st.st_ino = c.ino;
      fill_stat(c.ino, &st);
      need = fuse_add_direntry(req, buf.data() + used, size - used, c.name.c_str(), &st, static_cast<off_t>(k + 1));
    }
    if (need > size - used) break;
    used += need;
  }
  fuse_reply_buf(req, buf.data(), used);
}

void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  do_readdir(req, ino, size, off, false);
}
void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  do_readdir(req, ino, size, off, true);
}
void op_releasedir(fuse_req_t req, fuse_ino_t, fuse_file_info*) { fuse_reply_err(req, 0); }

void op_statfs(fuse_req_t req, fuse_ino_t) {
  struct statvfs sv;
  std::memset(&sv, 0, sizeof sv);
  sv.f_bsize = 1 << 20;
  sv.f_frsize = 1 << 20;
  sv.f_namemax = 255;
  fuse_reply_statfs(req, &sv);
}

void raise_readahead(const std::string& mp, long kb) {
  struct stat st;
  if (kb <= 0 || ::stat(mp.c_str(), &st) != 0) return;
  const std::string path =
      "/sys/class/bdi/" + std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev)) + "/read_ahead_kb";
  std::ofstream out(path);
  out << kb;
  if (!out) std::fprintf(stderr, "nullfs: could not set %s\n", path.c_str());
}

[[noreturn]] void usage(const char* msg) {
  if (msg) std::fprintf(stderr, "nullfs: %s\n", msg);
  std::fprintf(stderr,
               "usage: seaweed-nullfs [--set NAME:COUNT:SIZE]... [--direct-io] [--threads N]\n"
               "                      [--readahead-kb N] [--debug] MOUNTPOINT\n"
               "  default set: data:1:1G\n");
  std::exit(2);
}

void parse_args(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const std::string& flag) -> std::string {
      if (a.rfind(flag + "=", 0) == 0) return a.substr(flag.size() + 1);
      if (i + 1 >= argc) usage(("missing value for " + flag).c_str());
      return argv[++i];
    };
    auto is = [&](const std::string& flag) { return a == flag || a.rfind(flag + "=", 0) == 0; };
    if (is("--set")) {
      const std::string v = value("--set");
      const auto p1 = v.find(':');
      const auto p2 = v.find(':', p1 == std::string::npos ? p1 : p1 + 1);
      if (p1 == std::string::npos || p2 == std::string::npos) usage("--set wants NAME:COUNT:SIZE");
      FileSet s;
      s.name = v.substr(0, p1);
      s.count = std::strtoull(v.substr(p1 + 1, p2 - p1 - 1).c_str(), nullptr, 10);
      s.size = parse_size(v.substr(p2 + 1));
      if (s.name.empty() || s.name.find('/') != std::string::npos) usage("bad set name");
      g_cfg.sets.push_back(s);
    } else if (a == "--direct-io") {
      g_cfg.direct_io = true;
    } else if (is("--threads")) {
      g_cfg.threads = static_cast<unsigned>(std::max(1L, std::strtol(value("--threads").c_str(), nullptr, 10)));
    } else if (is("--readahead-kb")) {
      g_cfg.readahead_kb = std::strtol(value("--readahead-kb").c_str(), nullptr, 10);
    } else if (a == "--debug" || a == "-d") {
      g_cfg.debug = true;
    } else if (a == "-h" || a == "--help") {
      usage(nullptr);
    } else if (!a.empty() && a[0] == '-') {
      usage(("unknown option " + a).c_str());
    } else {
      g_cfg.mountpoint = a;
    }
  }
  if (g_cfg.mountpoint.empty()) usage("no mountpoint");
  if (g_cfg.sets.empty()) g_cfg.sets.push_back({"data", 1, 1ull << 30});
}

}  // namespace

int main(int argc, char** argv) {
  parse_args(argc, argv);
  g_start = ::time(nullptr);
  assign_inodes();
  // Preallocated, touched once: READ replies never fault in memory.
  g_buf = static_cast<char*>(std::aligned_alloc(4096, kBufSize));
  for (size_t i = 0; i < kBufSize; ++i) g_buf[i] = static_cast<char>('a' + i % 26);

  fuse_lowlevel_ops ops;
  std::memset(&ops, 0, sizeof ops);
  ops.init = op_init;
  ops.lookup = op_lookup;
  ops.getattr = op_getattr;
  ops.open = op_open;
  ops.read = op_read;
  ops.release = op_release;
  ops.opendir = op_opendir;
  ops.readdir = op_readdir;
  ops.readdirplus = op_readdirplus;
  ops.releasedir = op_releasedir;
  ops.statfs = op_statfs;

  std::vector<std::string> words = {"seaweed-nullfs", "-o",
                                    "fsname=seaweed-nullfs,subtype=nullfs,ro,default_permissions"};
  if (g_cfg.debug) words.emplace_back("-d");
  std::vector<char*> fargv;
  for (auto& w : words) fargv.push_back(w.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(fargv.size()), fargv.data());

  fuse_session* se = fuse_session_new(&args, &ops, sizeof ops, nullptr);
  if (!se) return 1;
  if (fuse_set_signal_handlers(se) != 0) return 1;
  if (fuse_session_mount(se, g_cfg.mountpoint.c_str()) != 0) {
    fuse_remove_signal_handlers(se);
    fuse_session_destroy(se);
    return 1;
  }
  std::thread([] { raise_readahead(g_cfg.mountpoint, g_cfg.readahead_kb); }).detach();

  fuse_loop_config* cfg = fuse_loop_cfg_create();
  fuse_loop_cfg_set_max_threads(cfg, g_cfg.threads);
  fuse_loop_cfg_set_idle_threads(cfg, std::min(4u, g_cfg.threads));
  const int rc = fuse_session_loop_mt(se, cfg);
  fuse_loop_cfg_destroy(cfg);
  fuse_session_unmount(se);
  fuse_remove_signal_handlers(se);
  fuse_session_destroy(se);
  std::free(g_buf);
  return rc < 0 ? 1 : 0;
}

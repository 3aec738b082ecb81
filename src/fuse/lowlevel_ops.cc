// C callbacks: each one unpacks the request, calls FileSystem, and replies. Errors are logged
// and turned into errno here and nowhere else; no exception crosses into libfuse.
#include "fuse/lowlevel_ops.h"

#include <spdlog/spdlog.h>
#include <sys/xattr.h>

#include <cstring>

#include "fuse/op_metrics.h"
#include "fuse/snapshot_ioctl.h"
#include "fuse/stats_xattr.h"

namespace seaweed::fuse {
namespace {

FileSystem& fs(fuse_req_t req) { return *static_cast<FileSystem*>(fuse_req_userdata(req)); }

void reply_error(fuse_req_t req, const char* op, const Error& error) {
  // Misses and read-only refusals are normal traffic; everything else is worth a line.
  if (error.code == ENOENT || error.code == ENODATA || error.code == EROFS || error.code == ERANGE)
    spdlog::debug("{}: {} ({})", op, error.message, std::strerror(error.code));
  else
    spdlog::warn("{}: {} ({})", op, error.message, std::strerror(error.code));
  count_error(op, error.code);
  replying();
  fuse_reply_err(req, error.code);
}

// Runs body; anything thrown becomes EIO with the op's name (bad_alloc, protobuf, ...).
template <class Body>
void guarded(fuse_req_t req, const char* op, Body&& body) {
  try {
    body();
  } catch (const std::exception& e) {
    reply_error(req, op, make_error(EIO, std::string("internal error: ") + e.what()));
  } catch (...) {
    reply_error(req, op, make_error(EIO, "internal error"));
  }
}

void op_init(void* userdata, fuse_conn_info* conn) {
  // Several reads in flight per file, larger requests, and readdirplus for `ls -l`.
  if (conn->capable & FUSE_CAP_ASYNC_READ) conn->want |= FUSE_CAP_ASYNC_READ;
  if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS;
  if (conn->capable & FUSE_CAP_READDIRPLUS_AUTO) conn->want |= FUSE_CAP_READDIRPLUS_AUTO;
  conn->want &= ~static_cast<unsigned>(FUSE_CAP_WRITEBACK_CACHE);
  conn->max_readahead = conn->max_readahead ? std::max<unsigned>(conn->max_readahead, 1u << 20) : (1u << 20);
  conn->max_background = 64;
  spdlog::debug("FUSE init: proto {}.{}, max_write {}, max_readahead {}", conn->proto_major, conn->proto_minor,
                conn->max_write, conn->max_readahead);
}

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  OpTimer timer(Op::lookup);
  guarded(req, "lookup", [&] {
    auto r = fs(req).lookup(parent, name);
    if (!r.ok()) return reply_error(req, "lookup", r.error());
    replying();
    fuse_reply_entry(req, &*r);
  });
}

void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  fs(req).forget(ino, nlookup);
  fuse_reply_none(req);
}

void op_forget_multi(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  for (size_t i = 0; i < count; ++i) fs(req).forget(forgets[i].ino, forgets[i].nlookup);
  fuse_reply_none(req);
}

void op_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  OpTimer timer(Op::getattr);
  guarded(req, "getattr", [&] {
    auto r = fs(req).getattr(ino);
    if (!r.ok()) return reply_error(req, "getattr", r.error());
    replying();
    fuse_reply_attr(req, &*r, fs(req).attr_timeout());
  });
}

void op_readlink(fuse_req_t req, fuse_ino_t ino) {
  OpTimer timer(Op::readlink);
  guarded(req, "readlink", [&] {
    auto r = fs(req).readlink(ino);
    if (!r.ok()) return reply_error(req, "readlink", r.error());
    replying();
    fuse_reply_readlink(req, r->c_str());
  });
}

void op_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  OpTimer timer(Op::open);
  guarded(req, "open", [&] {
    bool keep_cache = false;
    auto r = fs(req).open(ino, fi->flags, keep_cache);
    if (!r.ok()) return reply_error(req, "open", r.error());
    fi->fh = *r;
    fi->keep_cache = keep_cache ? 1 : 0;
    replying();
    if (fuse_reply_open(req, fi) != 0) fs(req).release(*r);  // interrupted: the kernel won't release it
  });
}

void op_read(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  OpTimer timer(Op::read);
  guarded(req, "read", [&] {
    thread_local std::vector<char> buffer;  // one per FUSE worker, for bytes read synchronously
    if (buffer.size() < size) buffer.resize(size);
    reader::ReadPieces pieces;
    auto st = fs(req).read_pieces(fi->fh, static_cast<uint64_t>(off), std::span<char>(buffer.data(), size), pieces);
    if (!st.ok()) return reply_error(req, "read", st.error());
    fuse_read_bytes().add(pieces.bytes);
    // Replies straight from the prefetched blocks (pinned until the reply is written).
    replying();
    if (pieces.iov.empty()) return (void)fuse_reply_buf(req, nullptr, 0);
    fuse_reply_iov(req, pieces.iov.data(), static_cast<int>(pieces.iov.size()));
  });
}

void op_release(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  OpTimer timer(Op::release);
  forget_snapshot(fi->fh);
  fs(req).release(fi->fh);
  replying();
  fuse_reply_err(req, 0);
}

void op_opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  OpTimer timer(Op::opendir);
  guarded(req, "opendir", [&] {
    auto r = fs(req).opendir(ino);
    if (!r.ok()) return reply_error(req, "opendir", r.error());
    fi->fh = *r;
    replying();
    if (fuse_reply_open(req, fi) != 0) fs(req).releasedir(*r);
  });
}

void readdir_common(fuse_req_t req, size_t size, off_t off, fuse_file_info* fi, bool plus) {
  const char* op = plus ? "readdirplus" : "readdir";
  OpTimer timer(plus ? Op::readdirplus : Op::readdir);
  guarded(req, op, [&] {
    auto dir = fs(req).dir(fi->fh);
    if (!dir) return reply_error(req, op, make_error(EBADF, "unknown directory handle"));
    std::vector<char> buf(size);
    size_t used = 0;
    // Offsets: 0 ".", 1 "..", then 2 + the index in dir->entries.
    const size_t total = dir->entries.size() + 2;
    for (size_t i = static_cast<size_t>(off); i < total; ++i) {
      const bool dots = i < 2;
      const char* name = i == 0 ? "." : i == 1 ? ".." : dir->entries[i - 2].name.c_str();
      const off_t next = static_cast<off_t>(i + 1);
      const size_t room = size - used;
      size_t len;
      if (plus) {
        // The kernel ignores "." and ".." in readdirplus; real entries take a reference, so
        // count one only for an entry that fits.
        if (fuse_add_direntry_plus(req, nullptr, 0, name, nullptr, 0) > room) break;
        fuse_entry_param p{};
        if (dots) {
          p.attr.st_ino = i == 0 ? dir->ino : dir->parent_ino;
          p.attr.st_mode = S_IFDIR;
        } else {
          p.ino = fs(req).reference_child(*dir, name);
          p.generation = 1;
          p.attr = dir->entries[i - 2].attr;
          p.attr.st_ino = p.ino;
          p.attr_timeout = p.entry_timeout = fs(req).attr_timeout();
        }
        len = fuse_add_direntry_plus(req, buf.data() + used, room, name, &p, next);
      } else {
        struct stat st {};
        if (dots) {
          st.st_ino = i == 0 ? dir->ino : dir->parent_ino;
          st.st_mode = S_IFDIR;
        } else {
          st.st_ino = fs(req).known_child(*dir, name);
          st.st_mode = dir->entries[i - 2].attr.st_mode;
        }
        len = fuse_add_direntry(req, buf.data() + used, room, name, &st, next);
        if (len > room) break;
      }
      used += len;
    }
    replying();
    fuse_reply_buf(req, buf.data(), used);
  });
}

void op_readdir(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  readdir_common(req, size, off, fi, false);
}
void op_readdirplus(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  readdir_common(req, size, off, fi, true);
}

void op_releasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  OpTimer timer(Op::releasedir);
  fs(req).releasedir(fi->fh);
  replying();
  fuse_reply_err(req, 0);
}

void op_statfs(fuse_req_t req, fuse_ino_t) {
  OpTimer timer(Op::statfs);
  guarded(req, "statfs", [&] {
    auto r = fs(req).statfs();
    if (!r.ok()) return reply_error(req, "statfs", r.error());
    replying();
    fuse_reply_statfs(req, &*r);
  });
}

void reply_xattr(fuse_req_t req, const char* op, const Result<std::string>& r, size_t size) {
  if (!r.ok()) return reply_error(req, op, r.error());
  replying();
  if (size == 0) return static_cast<void>(fuse_reply_xattr(req, r->size()));
  if (r->size() > size) return reply_error(req, op, make_error(ERANGE, "buffer too small"));
  fuse_reply_buf(req, r->data(), r->size());
}

void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  OpTimer timer(Op::getxattr);
  guarded(req, "getxattr", [&] {
    if (is_stats_xattr(ino, name)) return reply_xattr(req, "getxattr", stats_xattr_value(), size);
    reply_xattr(req, "getxattr", fs(req).getxattr(ino, name), size);
  });
}

void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  OpTimer timer(Op::listxattr);
  guarded(req, "listxattr", [&] { reply_xattr(req, "listxattr", fs(req).listxattr(ino), size); });
}

// Every operation that would change something: the mount is read-only.
void erofs(fuse_req_t req) { fuse_reply_err(req, EROFS); }
void op_setattr(fuse_req_t req, fuse_ino_t, struct stat*, int, fuse_file_info*) { erofs(req); }
void op_mknod(fuse_req_t req, fuse_ino_t, const char*, mode_t, dev_t) { erofs(req); }
void op_mkdir(fuse_req_t req, fuse_ino_t, const char*, mode_t) { erofs(req); }
void op_unlink(fuse_req_t req, fuse_ino_t, const char*) { erofs(req); }
void op_symlink(fuse_req_t req, const char*, fuse_ino_t, const char*) { erofs(req); }
void op_rename(fuse_req_t req, fuse_ino_t, const char*, fuse_ino_t, const char*, unsigned) { erofs(req); }
void op_link(fuse_req_t req, fuse_ino_t, fuse_ino_t, const char*) { erofs(req); }
void op_write(fuse_req_t req, fuse_ino_t, const char*, size_t, off_t, fuse_file_info*) { erofs(req); }
void op_create(fuse_req_t req, fuse_ino_t, const char*, mode_t, fuse_file_info*) { erofs(req); }
void op_setxattr(fuse_req_t req, fuse_ino_t, const char*, const char*, size_t, int) { erofs(req); }
void op_removexattr(fuse_req_t req, fuse_ino_t, const char*) { erofs(req); }
void op_fallocate(fuse_req_t req, fuse_ino_t, int, off_t, off_t, fuse_file_info*) { erofs(req); }

// The snapshot ioctls (fuse/snapshot_ioctl.cc), timed like the other ops.
void op_ioctl_timed(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void* arg, fuse_file_info* fi, unsigned flags,
                    const void* in_buf, size_t in_bufsz, size_t out_bufsz) {
  OpTimer timer(Op::ioctl);
  op_ioctl(req, ino, cmd, arg, fi, flags, in_buf, in_bufsz, out_bufsz);
}

}  // namespace

fuse_lowlevel_ops make_lowlevel_ops() {
  fuse_lowlevel_ops ops{};
  ops.init = op_init;
  ops.lookup = op_lookup;
  ops.forget = op_forget;
  ops.forget_multi = op_forget_multi;
  ops.getattr = op_getattr;
  ops.readlink = op_readlink;
  ops.open = op_open;
  ops.read = op_read;
  ops.release = op_release;
  ops.opendir = op_opendir;
  ops.readdir = op_readdir;
  ops.readdirplus = op_readdirplus;
  ops.releasedir = op_releasedir;
  ops.statfs = op_statfs;
  ops.getxattr = op_getxattr;
  ops.listxattr = op_listxattr;
  ops.setattr = op_setattr;
  ops.mknod = op_mknod;
  ops.mkdir = op_mkdir;
  ops.unlink = op_unlink;
  ops.rmdir = op_unlink;
  ops.symlink = op_symlink;
  ops.rename = op_rename;
  ops.link = op_link;
  ops.write = op_write;
  ops.create = op_create;
  ops.setxattr = op_setxattr;
  ops.removexattr = op_removexattr;
  ops.fallocate = op_fallocate;
  ops.ioctl = op_ioctl_timed;
  return ops;
}

}  // namespace seaweed::fuse

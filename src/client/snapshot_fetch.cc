#include "client/snapshot_fetch.h"

#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include "client/layout_blob.h"
#include "client/snapshot_ioctl_abi.h"
#include "codec/codec.h"

namespace seaweed::client {
namespace {

// ioctl(2) without going through any interposed libc symbol.
int raw_ioctl(int fd, unsigned long cmd, void* arg) {
  const long r = syscall(SYS_ioctl, fd, cmd, arg);
  return r < 0 ? -errno : 0;
}

constexpr int kAttempts = 3;  // the daemon re-serialises when its cached bytes went away meanwhile

}  // namespace

bool on_fuse(int fd) {
  struct statfs st {};
  if (syscall(SYS_fstatfs, fd, &st) != 0) return false;
  return static_cast<long>(st.f_type) == SWR_FUSE_SUPER_MAGIC;
}

Result<std::string> fetch_snapshot_blob(int fd) {
  auto page = std::make_unique<swr_snapshot_page>();
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    std::string blob;
    uint64_t total = 0, id = 0;
    uint32_t crc = 0;
    bool consistent = true;
    do {
      std::memset(page.get(), 0, offsetof(swr_snapshot_page, data));
      page->abi = SWR_IOCTL_ABI;
      page->offset = blob.size();
      if (int rc = raw_ioctl(fd, SWR_IOC_SNAPSHOT, page.get()); rc != 0)
        return make_error(-rc, std::string("snapshot ioctl: ") + std::strerror(-rc));
      if (page->abi != SWR_IOCTL_ABI || page->page_bytes > sizeof(page->data) || page->total_bytes > kMaxBlobBytes)
        return make_error(EPROTO, "snapshot ioctl: malformed page");
      if (blob.empty()) {
        total = page->total_bytes;
        id = page->snapshot_id;
        crc = page->blob_crc32c;
        blob.reserve(total);
      } else if (page->total_bytes != total || page->snapshot_id != id || page->blob_crc32c != crc) {
        consistent = false;
        break;
      }
      if (page->page_bytes == 0 && blob.size() < total) return make_error(EPROTO, "snapshot ioctl: empty page");
      blob.append(reinterpret_cast<const char*>(page->data), std::min<uint64_t>(page->page_bytes, total - blob.size()));
    } while (blob.size() < total);
    if (consistent && codec::crc32c(blob) == crc) return blob;
  }
  return make_error(EPROTO, "snapshot ioctl: pages of different serialisations");
}

Result<ReadToken> fetch_read_token(int fd, const std::string& fid) {
  auto request = std::make_unique<swr_token_request>();
  std::memset(request.get(), 0, sizeof(*request));
  if (fid.size() > sizeof(request->fid)) return make_error(EINVAL, "fid too long: " + fid);
  request->abi = SWR_IOCTL_ABI;
  request->fid_bytes = static_cast<uint32_t>(fid.size());
  std::memcpy(request->fid, fid.data(), fid.size());
  if (int rc = raw_ioctl(fd, SWR_IOC_TOKEN, request.get()); rc != 0)
    return make_error(-rc, "token ioctl for " + fid + ": " + std::strerror(-rc));
  if (request->token_bytes > sizeof(request->token)) return make_error(EPROTO, "token ioctl: malformed reply");
  return ReadToken{std::string(request->token, request->token_bytes), request->expires_in_sec};
}

}  // namespace seaweed::client

#include "fuse/snapshot_ioctl.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <unordered_map>

#include "client/layout_blob.h"
#include "client/snapshot_ioctl_abi.h"
#include "codec/codec.h"
#include "common/file_id.h"

namespace seaweed::fuse {
namespace {

struct Serialised {
  std::string blob;
  uint32_t crc = 0;
  uint64_t snapshot_id = 0;
};

struct State {
  std::mutex mu;
  SnapshotIoctlConfig config;
  // Built on the first page request of a handle, dropped at release: later pages come from the
  // same bytes even if volume locations change meanwhile.
  std::unordered_map<uint64_t, std::shared_ptr<const Serialised>> by_handle;
  uint64_t instance = std::random_device{}() | (static_cast<uint64_t>(std::random_device{}()) << 32);
};

State& state() {
  static State s;
  return s;
}

uint64_t snapshot_id_of(uint64_t fh) { return state().instance ^ (fh * 0x9E3779B97F4A7C15ull); }

Result<std::shared_ptr<const Serialised>> serialised(FileSystem& fs, uint64_t fh) {
  auto& st = state();
  SnapshotIoctlConfig config;
  {
    std::lock_guard lock(st.mu);
    auto it = st.by_handle.find(fh);
    if (it != st.by_handle.end()) return it->second;
    config = st.config;
  }
  auto blob = serialise_snapshot(fs, fh, config);
  if (!blob.ok()) return blob.error();
  auto s = std::make_shared<Serialised>();
  s->crc = codec::crc32c(*blob);
  s->blob = std::move(blob.value());
  s->snapshot_id = snapshot_id_of(fh);
  std::lock_guard lock(st.mu);
  auto [it, inserted] = st.by_handle.emplace(fh, std::move(s));
  return it->second;
}

void reply_snapshot_page(fuse_req_t req, FileSystem& fs, uint64_t fh, const void* in_buf, size_t in_bufsz,
                         size_t out_bufsz) {
  if (in_bufsz < sizeof(swr_snapshot_page) || out_bufsz < sizeof(swr_snapshot_page))
    return (void)fuse_reply_err(req, EINVAL);
  auto page = std::make_unique<swr_snapshot_page>();
  std::memcpy(page.get(), in_buf, sizeof(swr_snapshot_page));
  if (page->abi != SWR_IOCTL_ABI) return (void)fuse_reply_err(req, EPROTO);
  auto s = serialised(fs, fh);
  if (!s.ok()) {
    if (s.error().code != ENODATA) spdlog::warn("snapshot ioctl: {}", s.error().message);
    return (void)fuse_reply_err(req, s.error().code);
  }
  const Serialised& blob = **s;
  if (page->offset > blob.blob.size()) return (void)fuse_reply_err(req, EINVAL);
  const size_t n = std::min<size_t>(sizeof(page->data), blob.blob.size() - page->offset);
  page->page_bytes = static_cast<uint32_t>(n);
  page->total_bytes = blob.blob.size();
  page->snapshot_id = blob.snapshot_id;
  page->blob_crc32c = blob.crc;
  page->reserved = 0;
  std::memcpy(page->data, blob.blob.data() + page->offset, n);
  fuse_reply_ioctl(req, 0, page.get(), sizeof(swr_snapshot_page));
}

void reply_token(fuse_req_t req, FileSystem& fs, uint64_t fh, const void* in_buf, size_t in_bufsz, size_t out_bufsz) {
  if (in_bufsz < sizeof(swr_token_request) || out_bufsz < sizeof(swr_token_request))
    return (void)fuse_reply_err(req, EINVAL);
  auto request = std::make_unique<swr_token_request>();
  std::memcpy(request.get(), in_buf, sizeof(swr_token_request));
  if (request->abi != SWR_IOCTL_ABI || request->fid_bytes > sizeof(request->fid))
    return (void)fuse_reply_err(req, EINVAL);
  const std::string fid(request->fid, request->fid_bytes);
  std::function<Result<std::string>(const std::string&, int32_t&)> mint;
  {
    std::lock_guard lock(state().mu);
    mint = state().config.mint_token;
  }
  if (!mint) return (void)fuse_reply_err(req, ENODATA);  // no tokens needed here
  auto file = fs.open_file(fh);
  if (!file || !file->layout) return (void)fuse_reply_err(req, EBADF);
  // Only fids of this handle's snapshot: holding the fd is what entitles the caller to them.
  const auto& chunks = file->layout->chunks();
  if (std::none_of(chunks.begin(), chunks.end(), [&](const chunks::Chunk& c) { return c.file_id == fid; }))
    return (void)fuse_reply_err(req, EPERM);
  int32_t lifetime = 0;
  auto token = mint(fid, lifetime);
  if (!token.ok()) {
    spdlog::warn("token ioctl: {}", token.error().message);
    return (void)fuse_reply_err(req, EIO);
  }
  if (token->size() > sizeof(request->token)) return (void)fuse_reply_err(req, EOVERFLOW);
  request->token_bytes = static_cast<uint32_t>(token->size());
  request->expires_in_sec = lifetime;
  std::memcpy(request->token, token->data(), token->size());
  fuse_reply_ioctl(req, 0, request.get(), sizeof(swr_token_request));
}

}  // namespace

void configure_snapshot_ioctl(SnapshotIoctlConfig config) {
  std::lock_guard lock(state().mu);
  state().config = std::move(config);
}

void forget_snapshot(uint64_t fh) {
  std::lock_guard lock(state().mu);
  state().by_handle.erase(fh);
}

Result<std::string> serialise_snapshot(FileSystem& fs, uint64_t fh, const SnapshotIoctlConfig& config) {
  auto file = fs.open_file(fh);
  if (!file) return make_error(EBADF, "unknown file handle " + std::to_string(fh));
  if (!file->layout) return make_error(ENODATA, file->current_path() + ": inline content, nothing to read remotely");
  client::LayoutSnapshot s;
  s.snapshot_id = snapshot_id_of(fh);
  s.file_size = file->layout->size();
  using Flags = client::LayoutSnapshot;
  s.flags = (config.mint_token ? uint32_t{Flags::kTokensRequired} : 0u) |
            (config.rdma_enabled ? uint32_t{Flags::kRdmaEnabled} : 0u) |
            (config.fallback ? uint32_t{Flags::kFallback} : 0u) |
            (config.peer_error_handling ? uint32_t{Flags::kPeerErrorHandling} : 0u);
  s.rdma_timeout_ms = config.rdma_timeout_ms;
  s.http_timeout_ms = config.http_timeout_ms;
  s.chunks = file->layout->chunks();
  std::map<uint32_t, bool> volumes;
  for (const auto& c : s.chunks) {
    auto fid = FileId::parse(c.file_id);
    if (!fid.ok()) return fid.error().context(file->current_path());
    volumes[fid->volume_id] = true;
  }
  for (const auto& [vid, unused] : volumes) {
    auto urls = fs.volume_urls(vid);
    // A volume without a known location is left out: reads of it fail over to FUSE, which asks again.
    if (!urls.ok()) continue;
    client::VolumeReplicas v{vid, {}};
    for (const auto& url : *urls) {
      const std::string agent = config.rdma_enabled && config.agent_address ? config.agent_address(url) : "";
      v.replicas.push_back({url, agent});
    }
    s.volumes.push_back(std::move(v));
  }
  return client::encode_snapshot(s);
}

void op_ioctl(fuse_req_t req, fuse_ino_t, unsigned int cmd, void*, fuse_file_info* fi, unsigned flags,
              const void* in_buf, size_t in_bufsz, size_t out_bufsz) {
  try {
    auto& fs = *static_cast<FileSystem*>(fuse_req_userdata(req));
    if (flags & FUSE_IOCTL_COMPAT) return (void)fuse_reply_err(req, ENOTTY);
    if (fi == nullptr) return (void)fuse_reply_err(req, EBADF);
    if (cmd == SWR_IOC_SNAPSHOT) return reply_snapshot_page(req, fs, fi->fh, in_buf, in_bufsz, out_bufsz);
    if (cmd == SWR_IOC_TOKEN) return reply_token(req, fs, fi->fh, in_buf, in_bufsz, out_bufsz);
    fuse_reply_err(req, ENOTTY);
  } catch (const std::exception& e) {
    spdlog::warn("ioctl: internal error: {}", e.what());
    fuse_reply_err(req, EIO);
  } catch (...) {
    fuse_reply_err(req, EIO);
  }
}

}  // namespace seaweed::fuse

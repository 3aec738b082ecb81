#include "client/read_tokens.h"

#include <algorithm>
#include <cerrno>

namespace seaweed::client {

ReadTokens::ReadTokens(Fetch fetch, Now now) : fetch_(std::move(fetch)), now_(std::move(now)) {}

void ReadTokens::add_source(int fd, const std::vector<std::string>& fids) {
  std::lock_guard lock(mu_);
  for (const auto& fid : fids) {
    auto& fds = entries_[fid].fds;
    if (std::find(fds.begin(), fds.end(), fd) == fds.end()) fds.push_back(fd);
  }
}

void ReadTokens::remove_source(int fd, const std::vector<std::string>& fids) {
  std::lock_guard lock(mu_);
  for (const auto& fid : fids) {
    auto it = entries_.find(fid);
    if (it == entries_.end()) continue;
    std::erase(it->second.fds, fd);
    if (it->second.fds.empty()) entries_.erase(it);  // no fd can refresh it: nobody reads it
  }
}

Result<std::string> ReadTokens::token_for(const std::string& fid) {
  // The ioctl runs under the lock: concurrent readers of one chunk (readahead) wait for one
  // refresh instead of each asking the daemon. Refreshes are rare (once per half lifetime).
  std::lock_guard lock(mu_);
  auto it = entries_.find(fid);
  if (it == entries_.end() || it->second.fds.empty())
    return make_error(ENOKEY, "no open file can ask the mount for a read token for " + fid);
  Entry& entry = it->second;
  const auto now = now_();
  if (!entry.token.empty() && now < entry.fresh_until) return entry.token;
  Error last{ENOKEY, "no token"};
  for (int fd : entry.fds) {
    ++fetches_;
    auto got = fetch_(fd, fid);
    if (!got.ok()) {
      // That fd may have gone away under us (EBADF), or its number now names another file
      // (EPERM, ENOTTY): another open fd of the fid may still answer.
      last = got.error();
      continue;
    }
    entry.token = std::move(got->token);
    entry.fresh_until = now + std::chrono::milliseconds(int64_t{std::max(got->lifetime_sec, 0)} * 500);
    return entry.token;
  }
  return last;
}

uint64_t ReadTokens::fetches() const {
  std::lock_guard lock(mu_);
  return fetches_;
}

}  // namespace seaweed::client

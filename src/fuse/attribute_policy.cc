#include "fuse/attribute_policy.h"

#include <unistd.h>

#include <charconv>
#include <cstring>
#include <memory>

namespace seaweed::fuse {
namespace {

bool parse_id(const std::string& text, uint32_t& out) {
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && ec == std::errc() && p == text.data() + text.size();
}

// Written once before the FUSE loop starts, then only read: no lock on the attribute path.
AttributePolicy& policy_storage() {
  static AttributePolicy policy;
  return policy;
}

}  // namespace

Result<IdMap> IdMap::parse(const std::string& pairs) {
  IdMap map;
  if (pairs.empty()) return map;
  size_t start = 0;
  while (start <= pairs.size()) {
    const auto comma = pairs.find(',', start);
    const std::string pair = pairs.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const auto colon = pair.find(':');
    uint32_t local = 0, filer = 0;
    if (colon == std::string::npos || !parse_id(pair.substr(0, colon), local) ||
        !parse_id(pair.substr(colon + 1), filer))
      return make_error(EINVAL,
                        "bad id map \"" + pairs + "\": want local:filer[,local:filer...], got \"" + pair + "\"");
    map.filer_to_local_[filer] = local;
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return map;
}

void AttributePolicy::apply(struct stat& st, uint64_t ino) const {
  if (ino == 1 && set_root) {
    st.st_mode = S_IFDIR | root_mode;
    st.st_uid = root_uid;
    st.st_gid = root_gid;
    return;
  }
  if (!uids.empty()) st.st_uid = uids.to_local(st.st_uid);
  if (!gids.empty()) st.st_gid = gids.to_local(st.st_gid);
}

void set_attribute_policy(AttributePolicy policy) { policy_storage() = std::move(policy); }

const AttributePolicy& attribute_policy() { return policy_storage(); }

Result<AttributePolicy> weed_attribute_policy(const std::string& mountpoint, uint32_t umask, const std::string& uid_map,
                                              const std::string& gid_map) {
  AttributePolicy p;
  auto uids = IdMap::parse(uid_map);
  if (!uids.ok()) return uids.error().context("-map.uid");
  auto gids = IdMap::parse(gid_map);
  if (!gids.ok()) return gids.error().context("-map.gid");
  p.uids = std::move(uids.value());
  p.gids = std::move(gids.value());
  p.set_root = true;
  p.root_mode = 0777 & ~umask;
  struct stat st {};
  if (::stat(mountpoint.c_str(), &st) != 0)
    return make_error(errno, "mountpoint " + mountpoint + ": " + std::strerror(errno));
  p.root_uid = st.st_uid;
  p.root_gid = st.st_gid;
  if (p.root_uid == 0) {
    p.root_uid = ::getuid();
    p.root_gid = ::getgid();
  }
  return p;
}

}  // namespace seaweed::fuse

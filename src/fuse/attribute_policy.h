// What weed mount changes in the attributes it shows, so the same flags give the same view:
//   -umask:           the mount root's mode is 0777 &~ umask, owned by the mountpoint's owner
//                     (the user running the mount when that is root), whatever the filer says;
//   -map.uid/-map.gid "local:filer,...": owner ids stored on the filer show as the local ones.
// See docs/MOUNTING.md. Set once before mounting; read by entry_to_stat on every attribute reply.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <string>
#include <unordered_map>

#include "common/result.h"

namespace seaweed::fuse {

class IdMap {
 public:
  // "local:filer[,local:filer...]" as weed mount's -map.uid/-map.gid; "" maps nothing.
  static Result<IdMap> parse(const std::string& pairs);
  [[nodiscard]] uint32_t to_local(uint32_t filer_id) const {
    auto it = filer_to_local_.find(filer_id);
    return it == filer_to_local_.end() ? filer_id : it->second;
  }
  [[nodiscard]] bool empty() const { return filer_to_local_.empty(); }

 private:
  std::unordered_map<uint32_t, uint32_t> filer_to_local_;
};

struct AttributePolicy {
  bool set_root = false;  // false: the root shows the filer's attributes (tests of the bare conversion)
  uint32_t root_mode = 0755;
  uint32_t root_uid = 0;
  uint32_t root_gid = 0;
  IdMap uids;
  IdMap gids;

  // Rewrites st for inode ino (1 is the mount root).
  void apply(struct stat& st, uint64_t ino) const;
};

void set_attribute_policy(AttributePolicy policy);
const AttributePolicy& attribute_policy();

// weed mount's rule for the root: mode 0777 &~ umask; owner = the mountpoint's owner, or the
// current user when the mountpoint belongs to root.
Result<AttributePolicy> weed_attribute_policy(const std::string& mountpoint, uint32_t umask, const std::string& uid_map,
                                              const std::string& gid_map);

}  // namespace seaweed::fuse

// The flags of `weed mount` (SeaweedFS 4.48) that this read-only mount accepts and ignores, so
// that a weed mount command line, fstab line or -options file starts it unchanged.
// docs/MOUNTING.md has the whole table: which flags are implemented, which ignored and why.
#pragma once

#include <string>
#include <vector>

#include "common/flags.h"

namespace seaweed {

// Registers every ignored weed mount flag on flags with weed's kind (bool, int or string), so a
// bare boolean does not swallow the next word and values are checked as weed checks them.
void add_ignored_weed_mount_flags(FlagSet& flags);

// Names of the ignored weed mount flags (without the dash).
const std::vector<std::string>& ignored_weed_mount_flags();

// One warning line naming the ignored flags that were given, or "" when none was.
std::string ignored_flags_warning(const FlagSet& flags);

}  // namespace seaweed

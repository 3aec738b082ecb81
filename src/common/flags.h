// Go-style command line flags, as `weed` takes them: -name=value, -name value, --name=value,
// bare -name for booleans, plus `-o name=value,name2` (what mount(8) and fstab pass).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"

namespace seaweed {

class FlagSet {
 public:
  explicit FlagSet(std::string program) : program_(std::move(program)) {}

  void add_string(const std::string& name, std::string* target, const std::string& help);
  void add_bool(const std::string& name, bool* target, const std::string& help);
  void add_int(const std::string& name, int64_t* target, const std::string& help);

  // Parses argv[1..]; words that are not flags become positional arguments. "-h", "-help" and
  // "--help" set help_requested(). Unknown flags and bad values are errors (EINVAL).
  Status parse(int argc, char** argv);

  [[nodiscard]] const std::vector<std::string>& positional() const { return positional_; }
  [[nodiscard]] bool help_requested() const { return help_; }
  [[nodiscard]] bool was_set(const std::string& name) const { return set_.count(name) > 0; }
  [[nodiscard]] std::string usage(const std::string& synopsis) const;

 private:
  struct Flag {
    std::string help;
    std::string default_text;
    bool is_bool = false;
    std::function<Status(const std::string&)> assign;
  };
  Status assign(const std::string& name, const std::string* value, int& i, int argc, char** argv);
  Status apply_mount_options(const std::string& list);

  std::string program_;
  std::map<std::string, Flag> flags_;
  std::vector<std::string> positional_;
  std::map<std::string, bool> set_;
  bool help_ = false;
};

}  // namespace seaweed

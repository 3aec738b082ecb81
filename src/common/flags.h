// Go-style command line flags, as `weed` takes them: -name=value, -name value, --name=value,
// bare -name for booleans, plus `-o name=value,name2` (what mount(8) and fstab pass) and weed's
// `-options FILE` (one name=value per line; the command line wins).
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
  // Sees every item of a `-o` list before it is taken as a flag; returns true when it consumed
  // the item (value is null for a bare name). Used for mount(8)'s standard options.
  using OptionFilter = std::function<Result<bool>(const std::string& name, const std::string* value)>;

  explicit FlagSet(std::string program) : program_(std::move(program)) {}

  void add_string(const std::string& name, std::string* target, const std::string& help);
  void add_bool(const std::string& name, bool* target, const std::string& help);
  void add_int(const std::string& name, int64_t* target, const std::string& help);
  // A flag that is accepted, checked like its kind, and otherwise ignored (the value is dropped).
  enum class Kind { kBool, kInt, kString };
  void add_ignored(const std::string& name, Kind kind, const std::string& help);
  void set_option_filter(OptionFilter filter) { option_filter_ = std::move(filter); }

  // Parses argv[1..]; words that are not flags become positional arguments. "-h", "-help" and
  // "--help" set help_requested(). Unknown flags and bad values are errors (EINVAL).
  Status parse(int argc, char** argv);

  // Sets a flag as if given on the command line (value "" for a bare boolean).
  Status set(const std::string& name, const std::string& value);
  // weed's -options file: "name=value", "name value" or "name:value" per line, '#' comments;
  // flags already set keep their value; unknown names are skipped when ignore_unknown.
  Status parse_options_file(const std::string& path, bool ignore_unknown);

  [[nodiscard]] bool has(const std::string& name) const { return flags_.count(name) > 0; }
  [[nodiscard]] const std::vector<std::string>& positional() const { return positional_; }
  [[nodiscard]] bool help_requested() const { return help_; }
  [[nodiscard]] bool was_set(const std::string& name) const { return set_.count(name) > 0; }
  // Names of the flags given, in the order they were first set.
  [[nodiscard]] const std::vector<std::string>& set_in_order() const { return set_order_; }
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
  void mark_set(const std::string& name);

  std::string program_;
  std::map<std::string, Flag> flags_;
  std::vector<std::string> positional_;
  std::map<std::string, bool> set_;
  std::vector<std::string> set_order_;
  OptionFilter option_filter_;
  bool help_ = false;
};

}  // namespace seaweed

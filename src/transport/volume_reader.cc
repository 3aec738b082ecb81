#include "transport/volume_reader.h"

namespace seaweed::transport {
namespace {
thread_local bool background_thread = false;
}  // namespace

void set_background_thread(bool background) { background_thread = background; }
bool is_background_thread() { return background_thread; }

}  // namespace seaweed::transport

#include "preload/real_calls.h"

#include <dlfcn.h>

namespace seaweed::preload {
namespace {

template <class F>
void resolve(F*& slot, const char* name) {
  if (slot == nullptr) slot = reinterpret_cast<F*>(dlsym(RTLD_NEXT, name));
}

RealCalls g_real;
bool g_resolved = false;

}  // namespace

const RealCalls& real() {
  if (g_resolved) return g_real;
  resolve(g_real.open, "open");
  resolve(g_real.open64, "open64");
  resolve(g_real.openat, "openat");
  resolve(g_real.openat64, "openat64");
  resolve(g_real.open_2, "__open_2");
  resolve(g_real.open64_2, "__open64_2");
  resolve(g_real.openat_2, "__openat_2");
  resolve(g_real.openat64_2, "__openat64_2");
  resolve(g_real.read, "read");
  resolve(g_real.read_chk, "__read_chk");
  resolve(g_real.pread, "pread");
  resolve(g_real.pread64, "pread64");
  resolve(g_real.pread_chk, "__pread_chk");
  resolve(g_real.pread64_chk, "__pread64_chk");
  resolve(g_real.readv, "readv");
  resolve(g_real.preadv, "preadv");
  resolve(g_real.preadv64, "preadv64");
  resolve(g_real.preadv2, "preadv2");
  resolve(g_real.preadv64v2, "preadv64v2");
  resolve(g_real.lseek, "lseek");
  resolve(g_real.close, "close");
  resolve(g_real.close_range, "close_range");
  resolve(g_real.closefrom, "closefrom");
  resolve(g_real.fclose, "fclose");
  resolve(g_real.fopen, "fopen");
  resolve(g_real.fopen64, "fopen64");
  resolve(g_real.dup, "dup");
  resolve(g_real.dup2, "dup2");
  resolve(g_real.dup3, "dup3");
  resolve(g_real.fcntl, "fcntl");
  resolve(g_real.fcntl64, "fcntl64");
  g_resolved = true;
  return g_real;
}

}  // namespace seaweed::preload

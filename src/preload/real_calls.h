// The libc functions the preload wraps, as found behind it (dlsym(RTLD_NEXT)). Resolved once,
// at load time or on first use from another library's constructor; if the lookup itself comes
// back into a wrapper, the wrapper uses the raw system call instead.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <cstdio>

namespace seaweed::preload {

struct RealCalls {
  int (*open)(const char*, int, ...) = nullptr;
  int (*open64)(const char*, int, ...) = nullptr;
  int (*openat)(int, const char*, int, ...) = nullptr;
  int (*openat64)(int, const char*, int, ...) = nullptr;
  int (*open_2)(const char*, int) = nullptr;
  int (*open64_2)(const char*, int) = nullptr;
  int (*openat_2)(int, const char*, int) = nullptr;
  int (*openat64_2)(int, const char*, int) = nullptr;
  ssize_t (*read)(int, void*, size_t) = nullptr;
  ssize_t (*read_chk)(int, void*, size_t, size_t) = nullptr;
  ssize_t (*pread)(int, void*, size_t, off_t) = nullptr;
  ssize_t (*pread64)(int, void*, size_t, off_t) = nullptr;
  ssize_t (*pread_chk)(int, void*, size_t, off_t, size_t) = nullptr;
  ssize_t (*pread64_chk)(int, void*, size_t, off_t, size_t) = nullptr;
  ssize_t (*readv)(int, const iovec*, int) = nullptr;
  ssize_t (*preadv)(int, const iovec*, int, off_t) = nullptr;
  ssize_t (*preadv64)(int, const iovec*, int, off_t) = nullptr;
  ssize_t (*preadv2)(int, const iovec*, int, off_t, int) = nullptr;
  ssize_t (*preadv64v2)(int, const iovec*, int, off_t, int) = nullptr;
  off_t (*lseek)(int, off_t, int) = nullptr;
  int (*close)(int) = nullptr;
  int (*close_range)(unsigned, unsigned, int) = nullptr;
  void (*closefrom)(int) = nullptr;
  int (*fclose)(FILE*) = nullptr;
  FILE* (*fopen)(const char*, const char*) = nullptr;
  FILE* (*fopen64)(const char*, const char*) = nullptr;
  int (*dup)(int) = nullptr;
  int (*dup2)(int, int) = nullptr;
  int (*dup3)(int, int, int) = nullptr;
  int (*fcntl)(int, int, ...) = nullptr;
  int (*fcntl64)(int, int, ...) = nullptr;
};

// Resolves every pointer (idempotent, thread-safe enough: each store is of the same value).
const RealCalls& real();

}  // namespace seaweed::preload

// A read-only mmap of a .dat file. The UCX server sends reply payloads straight from it, so a
// mapping lives as long as any request that points into it (shared_ptr), and it may carry a
// transport registration (ucp_mem_map handle) that is released before the munmap.
//
// Shrinking files: touching a mapped page past the end of a file raises SIGBUS. Every read checks
// the file size first (OpenVolume::dat_bytes), but a file cut between that check and the access
// would still kill the agent. install_sigbus_guard() closes that gap: a fault inside a live
// mapping gets a page of zeros mapped over the faulting page, the mapping is marked poisoned,
// and the access completes; OpenVolume then refuses what it read and maps the file afresh.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "common/result.h"

namespace seaweed::agent {

// Registers [addr, addr+length) with a transport; the returned handle is dropped before unmap.
// May return nullptr (no registration: the transport copies or registers on the fly).
using MappingRegistrar = std::function<std::shared_ptr<void>(const void* addr, size_t length)>;

class DatMapping {
 public:
  // Maps `length` bytes of fd from offset 0. length may exceed the file size (headroom for
  // appends): pages past EOF are never touched because every access is checked against the
  // file size first.
  static Result<std::shared_ptr<const DatMapping>> map(int fd, size_t length, const MappingRegistrar& registrar);

  struct Key {  // passkey: only map() constructs, yet make_shared works
   private:
    Key() = default;
    friend class DatMapping;
  };
  DatMapping(Key, void* addr, size_t length) : addr_(addr), length_(length) {}
  DatMapping(const DatMapping&) = delete;
  DatMapping& operator=(const DatMapping&) = delete;
  ~DatMapping();

  [[nodiscard]] const uint8_t* data() const { return static_cast<const uint8_t*>(addr_); }
  [[nodiscard]] size_t length() const { return length_; }
  [[nodiscard]] void* registration() const { return registration_.get(); }
  // A SIGBUS inside this mapping was answered with zeros: its bytes no longer mirror the file.
  [[nodiscard]] bool poisoned() const { return poisoned_.load(std::memory_order_acquire); }

 private:
  void* addr_;
  size_t length_;
  std::shared_ptr<void> registration_;
  int guard_slot_ = -1;  // index in the SIGBUS guard's table, -1 when not guarded
  std::atomic<bool> poisoned_{false};
};

// Installs the process-wide SIGBUS handler described above (idempotent). Faults outside every
// mapping go to the previous handler (or the default action: the process dies as before).
void install_sigbus_guard();
// SIGBUS faults answered with zeros since start (for metrics and tests).
uint64_t sigbus_recoveries();

}  // namespace seaweed::agent

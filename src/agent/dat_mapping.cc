#include "agent/dat_mapping.h"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <mutex>
#include <string>

#include "common/metrics.h"

namespace seaweed::agent {
namespace {

// The guard's table of live mappings. The handler scans it without locks, so slots are atomics
// and a slot is published (state 2) only after its range and flag are written. A mapping leaves
// the table before it is unmapped, and nothing can fault inside it then (nobody holds it).
struct GuardSlot {
  std::atomic<int> state{0};  // 0 free, 1 being written, 2 live
  std::atomic<uintptr_t> begin{0};
  std::atomic<uintptr_t> end{0};
  std::atomic<std::atomic<bool>*> poisoned{nullptr};
};
constexpr size_t kGuardSlots = 4096;  // mappings alive at once (volumes x generations)
std::array<GuardSlot, kGuardSlots> g_slots;
std::atomic<uint64_t> g_recoveries{0};
std::atomic<Counter*> g_recoveries_metric{nullptr};
std::atomic<long> g_page_size{4096};
struct sigaction g_previous {};
std::once_flag g_install_once;
static_assert(std::atomic<uintptr_t>::is_always_lock_free && std::atomic<int>::is_always_lock_free);

int claim_slot(const void* addr, size_t length, std::atomic<bool>* poisoned) {
  for (size_t i = 0; i < g_slots.size(); ++i) {
    int expected = 0;
    if (!g_slots[i].state.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) continue;
    g_slots[i].begin.store(reinterpret_cast<uintptr_t>(addr), std::memory_order_relaxed);
    g_slots[i].end.store(reinterpret_cast<uintptr_t>(addr) + length, std::memory_order_relaxed);
    g_slots[i].poisoned.store(poisoned, std::memory_order_relaxed);
    g_slots[i].state.store(2, std::memory_order_release);
    return static_cast<int>(i);
  }
  return -1;
}

void release_slot(int i) {
  if (i < 0) return;
  g_slots[i].state.store(1, std::memory_order_release);
  g_slots[i].poisoned.store(nullptr, std::memory_order_relaxed);
  g_slots[i].state.store(0, std::memory_order_release);
}

void forward(int sig, siginfo_t* info, void* context) {
  if (g_previous.sa_flags & SA_SIGINFO) {
    if (g_previous.sa_sigaction) return g_previous.sa_sigaction(sig, info, context);
  } else if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN) {
    return g_previous.sa_handler(sig);
  }
  // Default action: returning re-executes the access, which faults again and kills the process.
  ::signal(sig, SIG_DFL);
}

// Only async-signal-safe work here: atomics and the mmap system call.
void on_sigbus(int sig, siginfo_t* info, void* context) {
  const auto addr = reinterpret_cast<uintptr_t>(info->si_addr);
  for (auto& slot : g_slots) {
    if (slot.state.load(std::memory_order_acquire) != 2) continue;
    if (addr < slot.begin.load(std::memory_order_relaxed) || addr >= slot.end.load(std::memory_order_relaxed)) continue;
    const uintptr_t page = addr & ~static_cast<uintptr_t>(g_page_size.load(std::memory_order_relaxed) - 1);
    void* zero = ::mmap(reinterpret_cast<void*>(page), static_cast<size_t>(g_page_size.load()), PROT_READ,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (zero == MAP_FAILED) break;
    if (auto* flag = slot.poisoned.load(std::memory_order_relaxed)) flag->store(true, std::memory_order_release);
    g_recoveries.fetch_add(1, std::memory_order_relaxed);
    if (Counter* c = g_recoveries_metric.load(std::memory_order_relaxed)) c->add();  // one relaxed atomic add
    return;
  }
  forward(sig, info, context);
}

}  // namespace

Result<std::shared_ptr<const DatMapping>> DatMapping::map(int fd, size_t length, const MappingRegistrar& registrar) {
  if (length == 0) return make_error(EINVAL, "cannot map an empty file");
  void* addr = ::mmap(nullptr, length, PROT_READ, MAP_SHARED, fd, 0);
  if (addr == MAP_FAILED)
    return make_error(errno, "mmap of " + std::to_string(length) + " bytes failed: " + std::strerror(errno));
  auto m = std::make_shared<DatMapping>(Key{}, addr, length);
  m->guard_slot_ = claim_slot(addr, length, &m->poisoned_);
  if (registrar) m->registration_ = registrar(addr, length);
  return std::shared_ptr<const DatMapping>(std::move(m));
}

DatMapping::~DatMapping() {
  registration_.reset();  // deregister before the pages go away
  release_slot(guard_slot_);
  ::munmap(addr_, length_);
}

void install_sigbus_guard() {
  std::call_once(g_install_once, [] {
    g_page_size.store(::sysconf(_SC_PAGESIZE));
    g_recoveries_metric.store(&Metrics::global().counter(
        "seaweed_agent_sigbus_recovered_total",
        "Reads of a .dat page cut off under the agent, answered with zeros and refused (SIGBUS guard)"));
    struct sigaction sa {};
    sa.sa_sigaction = &on_sigbus;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGBUS, &sa, &g_previous);
  });
}

uint64_t sigbus_recoveries() { return g_recoveries.load(std::memory_order_relaxed); }

}  // namespace seaweed::agent

#include "agent/dat_mapping.h"

#include <sys/mman.h>

#include <cstring>
#include <string>

namespace seaweed::agent {

Result<std::shared_ptr<const DatMapping>> DatMapping::map(int fd, size_t length, const MappingRegistrar& registrar) {
  if (length == 0) return make_error(EINVAL, "cannot map an empty file");
  void* addr = ::mmap(nullptr, length, PROT_READ, MAP_SHARED, fd, 0);
  if (addr == MAP_FAILED)
    return make_error(errno, "mmap of " + std::to_string(length) + " bytes failed: " + std::strerror(errno));
  auto m = std::make_shared<DatMapping>(Key{}, addr, length);
  if (registrar) m->registration_ = registrar(addr, length);
  return std::shared_ptr<const DatMapping>(std::move(m));
}

DatMapping::~DatMapping() {
  registration_.reset();  // deregister before the pages go away
  ::munmap(addr_, length_);
}

}  // namespace seaweed::agent

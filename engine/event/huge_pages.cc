#include "engine/event/huge_pages.h"

#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

namespace takt {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;

size_t RoundUp(size_t bytes) { return (bytes + kHugePage - 1) / kHugePage * kHugePage; }

// TAKT_HUGE_PAGES=1 in the environment, read at each large block: they are few (a table's
// growth), and a test can change it.
bool HugePagesAskedFor() {
  const char* value = std::getenv("TAKT_HUGE_PAGES");
  return value != nullptr && std::strcmp(value, "1") == 0;
}

}  // namespace

void* AllocateLarge(size_t bytes) {
  if (bytes < kHugePage) return ::operator new(bytes);
  const size_t size = RoundUp(bytes);
  // One huge page more than needed, so that an aligned start lies within; the rest goes back.
  void* mapped = ::mmap(nullptr, size + kHugePage, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapped == MAP_FAILED) throw std::bad_alloc();
  const auto start = reinterpret_cast<uintptr_t>(mapped);
  const uintptr_t aligned = (start + kHugePage - 1) / kHugePage * kHugePage;
  if (aligned > start) ::munmap(mapped, aligned - start);
  const uintptr_t end = start + size + kHugePage;
  if (end > aligned + size) ::munmap(reinterpret_cast<void*>(aligned + size), end - aligned - size);
  void* block = reinterpret_cast<void*>(aligned);
  // A refusal leaves ordinary pages, which work too.
  if (HugePagesAskedFor()) ::madvise(block, size, MADV_HUGEPAGE);
  return block;
}

void FreeLarge(void* block, size_t bytes) {
  if (bytes < kHugePage) {
    ::operator delete(block);
    return;
  }
  ::munmap(block, RoundUp(bytes));
}

}  // namespace takt

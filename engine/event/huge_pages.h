// Memory for the large tables of the per-event path (seen ids, sequence positions), mapped apart
// from the heap so that it goes back to the system when a table grows past it, and in
// transparent huge pages when TAKT_HUGE_PAGES=1 is in the environment (the kernel gives them on
// request in its `madvise` mode, the default of Debian and many others). Those tables are probed
// at random: at millions of entries nearly every probe misses the TLB with 4 KiB pages, and
// with 2 MiB pages a page is faulted in once instead of 512 times. On one day they took an
// in-memory run of the 100,000-order stream from 3.76-3.79 s to 3.17-3.33 s; on a virtual
// machine that hands free memory back to its host (virtio-balloon's free page reporting) each
// huge page comes back through a fault of the host's, and later they cost that run 0.2-0.4 s of
// kernel time more than they saved (docs/performance.md). Hence off unless asked for.
//
// Blocks under 2 MiB are ordinary heap memory. Where the kernel refuses huge pages, a large
// block is still plain memory from mmap().
#ifndef TAKT_ENGINE_EVENT_HUGE_PAGES_H_
#define TAKT_ENGINE_EVENT_HUGE_PAGES_H_

#include <cstddef>

namespace takt {

// `bytes` of memory, aligned for any object; throws std::bad_alloc when there is none.
void* AllocateLarge(size_t bytes);
// Frees what AllocateLarge(bytes) returned, with the same `bytes`.
void FreeLarge(void* block, size_t bytes);

// For std::vector and the like.
template <typename T>
struct LargeAllocator {
  using value_type = T;
  LargeAllocator() = default;
  template <typename U>
  LargeAllocator(const LargeAllocator<U>&) {}  // NOLINT: converting, as allocators must
  T* allocate(size_t n) { return static_cast<T*>(AllocateLarge(n * sizeof(T))); }
  void deallocate(T* block, size_t n) { FreeLarge(block, n * sizeof(T)); }
  template <typename U>
  bool operator==(const LargeAllocator<U>&) const { return true; }
  template <typename U>
  bool operator!=(const LargeAllocator<U>&) const { return false; }
};

}  // namespace takt

#endif  // TAKT_ENGINE_EVENT_HUGE_PAGES_H_

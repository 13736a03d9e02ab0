// Memory for the large tables of the per-event path (seen ids, sequence positions), in
// transparent huge pages where the kernel gives them on request (its `madvise` mode, the
// default of Debian and many others). Those tables are probed at random: at millions of
// entries nearly every probe misses the TLB as well as the cache with 4 KiB pages, and in a
// virtual machine each TLB miss walks two levels of page tables. With 2 MiB pages the whole
// table is a few TLB entries, and a page is faulted in once instead of 512 times.
// They took an in-memory run of the 100,000-order stream from 3.76-3.79 s to 3.17-3.33 s, and
// its page faults from 77,985 to 43,561 (docs/performance.md).
//
// Blocks under 2 MiB are ordinary heap memory. Where the kernel refuses (huge pages
// disabled), a large block is still plain memory from mmap().
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

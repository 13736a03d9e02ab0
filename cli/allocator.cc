// The takt command's heap. A simulation keeps millions of small objects (instances, their
// strings, commands) and reaches them at random. The library does not choose an allocator for
// the programs that embed it; docs/performance.md says how they can do what this does.
#include "cli/commands.h"

#if !defined(TAKT_JEMALLOC) && defined(__GLIBC__)
#include <malloc.h>
#endif

#if defined(TAKT_JEMALLOC)
// jemalloc (linked in when found: cli/CMakeLists.txt), with its heap in ordinary pages. Huge
// pages for the heap (thp:always) once took a fifth off the in-memory run of the 100,000-order
// stream; on a virtual machine that hands free 2 MiB blocks back to its host (virtio-balloon's
// free page reporting, common in clouds) each huge page then comes back at the cost of a host
// fault, and they added 0.4-1.5 s of kernel time to a 3 s run with no user time saved
// (docs/performance.md). On bare metal MALLOC_CONF=thp:always in the environment turns them on
// again. jemalloc reads this string before its first allocation; the symbol's name is its
// interface.
extern "C" {
extern const char* malloc_conf;
const char* malloc_conf = "thp:default,metadata_thp:disabled";
}
#endif

namespace takt::cli {

void TuneAllocator() {
#if !defined(TAKT_JEMALLOC) && defined(__GLIBC__)
  // With glibc's default padding of 128 KiB the heap grows by a thousand small steps over two
  // million events, and the pages at its top are given back and taken again as tables are
  // reallocated; 64 MiB steps took 20% of the page faults and 15% of the time off the
  // 100,000-order stream. Address space only: untouched pages cost nothing.
  mallopt(M_TOP_PAD, 64 << 20);
#endif
}

}  // namespace takt::cli

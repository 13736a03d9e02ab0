// LargeAllocator: blocks of every size hold what is written to them, large ones start on a
// huge-page boundary and are advised for huge pages when TAKT_HUGE_PAGES=1 asks for them.
#include "engine/event/huge_pages.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace takt {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;

// The VmFlags line of the mapping of /proc/self/smaps that holds `address`.
std::string VmFlagsAt(const void* address) {
  const auto at = reinterpret_cast<uintptr_t>(address);
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    uintptr_t from = 0, to = 0;
    char dash = 0;
    std::istringstream range(line);
    if (range >> std::hex >> from >> dash >> to && dash == '-') inside = from <= at && at < to;
    if (inside && line.rfind("VmFlags:", 0) == 0) return line;
  }
  return "";
}

TEST(LargeAllocatorTest, AVectorGrowingPastHugePagesKeepsItsContents) {
  std::vector<uint64_t, LargeAllocator<uint64_t>> values;
  for (uint64_t i = 0; i < 3'000'000; ++i) values.push_back(i * 31);  // 24 MB, many moves
  for (uint64_t i = 0; i < values.size(); ++i) ASSERT_EQ(values[i], i * 31) << i;
  values.shrink_to_fit();
  values.resize(10);  // down below a huge page, through a small block again
  values.shrink_to_fit();
  EXPECT_EQ(values[9], 9u * 31);
}

// A large block at the huge-page boundary, advised for huge pages exactly when
// TAKT_HUGE_PAGES=1 asks for them.
void ExpectLargeBlock(bool advised) {
  const size_t bytes = 3 * kHugePage + 100;  // not a multiple: rounded up within
  auto* block = static_cast<char*>(AllocateLarge(bytes));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(block) % kHugePage, 0u);
  block[0] = 'a';
  block[bytes - 1] = 'z';
  EXPECT_EQ(block[0], 'a');
  EXPECT_EQ(block[bytes - 1], 'z');
  const std::string flags = VmFlagsAt(block);
  ASSERT_FALSE(flags.empty()) << "no mapping in /proc/self/smaps holds the block";
  if (!advised) {
    EXPECT_EQ(flags.find(" hg"), std::string::npos) << flags;
  } else if (std::ifstream("/sys/kernel/mm/transparent_hugepage/enabled").good()) {
    EXPECT_NE(flags.find(" hg"), std::string::npos) << flags;
  } else {
    std::cout << "[ NOTE     ] this kernel has no transparent huge pages: the block is plain\n";
  }
  FreeLarge(block, bytes);
}

TEST(LargeAllocatorTest, ALargeBlockStartsOnAHugePageInOrdinaryPagesUnlessAskedFor) {
  const char* before = std::getenv("TAKT_HUGE_PAGES");
  const std::string kept = before != nullptr ? before : "";
  ::unsetenv("TAKT_HUGE_PAGES");
  ExpectLargeBlock(/*advised=*/false);
  ::setenv("TAKT_HUGE_PAGES", "0", 1);
  ExpectLargeBlock(/*advised=*/false);
  ::setenv("TAKT_HUGE_PAGES", "1", 1);
  ExpectLargeBlock(/*advised=*/true);
  if (before != nullptr) {
    ::setenv("TAKT_HUGE_PAGES", kept.c_str(), 1);
  } else {
    ::unsetenv("TAKT_HUGE_PAGES");
  }
}

TEST(LargeAllocatorTest, ASmallBlockIsOrdinaryHeapMemory) {
  auto* block = static_cast<char*>(AllocateLarge(100));
  block[99] = 'x';
  EXPECT_EQ(block[99], 'x');
  EXPECT_EQ(VmFlagsAt(block).find(" hg"), std::string::npos);
  FreeLarge(block, 100);
}

}  // namespace
}  // namespace takt

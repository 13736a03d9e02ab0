// MT19937 as in CPython's Modules/_randommodule.c (itself the reference mt19937ar.c).
#include "engine/harness/python_random.h"

#include <cstddef>
#include <vector>

namespace takt {

void PythonRandom::InitGenrand(uint32_t s) {
  mt_[0] = s;
  for (size_t i = 1; i < kN; ++i) {
    const uint32_t prev = mt_[i - 1];
    mt_[i] = 1812433253U * (prev ^ (prev >> 30)) + static_cast<uint32_t>(i);
  }
  index_ = kN;
}

PythonRandom::PythonRandom(int64_t seed) {
  // Python seeds from the 32-bit words of abs(seed), least significant first ([0] for 0).
  uint64_t n = seed < 0 ? 0 - static_cast<uint64_t>(seed) : static_cast<uint64_t>(seed);
  std::vector<uint32_t> key;
  do {
    key.push_back(static_cast<uint32_t>(n & 0xffffffffU));
    n >>= 32;
  } while (n != 0);

  InitGenrand(19650218U);
  size_t i = 1;
  size_t j = 0;
  for (size_t k = kN > key.size() ? kN : key.size(); k > 0; --k) {
    const uint32_t prev = mt_[i - 1];
    mt_[i] = (mt_[i] ^ ((prev ^ (prev >> 30)) * 1664525U)) + key[j] + static_cast<uint32_t>(j);
    ++i;
    ++j;
    if (i >= kN) {
      mt_[0] = mt_[kN - 1];
      i = 1;
    }
    if (j >= key.size()) j = 0;
  }
  for (size_t k = kN - 1; k > 0; --k) {
    const uint32_t prev = mt_[i - 1];
    mt_[i] = (mt_[i] ^ ((prev ^ (prev >> 30)) * 1566083941U)) - static_cast<uint32_t>(i);
    ++i;
    if (i >= kN) {
      mt_[0] = mt_[kN - 1];
      i = 1;
    }
  }
  mt_[0] = 0x80000000U;
  index_ = kN;
}

uint32_t PythonRandom::NextWord() {
  constexpr uint32_t kUpper = 0x80000000U;
  constexpr uint32_t kLower = 0x7fffffffU;
  constexpr uint32_t kMatrixA = 0x9908b0dfU;
  constexpr size_t kM = 397;
  if (index_ >= kN) {
    for (size_t k = 0; k < kN; ++k) {
      const auto at = [this](size_t i) -> uint32_t& { return mt_[i % kN]; };
      const uint32_t y = (at(k) & kUpper) | (at(k + 1) & kLower);
      at(k) = at(k + kM) ^ (y >> 1) ^ ((y & 1U) != 0 ? kMatrixA : 0U);
    }
    index_ = 0;
  }
  uint32_t y = mt_[index_++];
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680U;
  y ^= (y << 15) & 0xefc60000U;
  y ^= y >> 18;
  return y;
}

double PythonRandom::Next() {
  const uint32_t a = NextWord() >> 5;
  const uint32_t b = NextWord() >> 6;
  return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
}

}  // namespace takt

// Python's random.Random(seed).random(), bit for bit: MT19937 seeded by init_by_array over the
// 32-bit words of |seed|, and 53-bit doubles from two draws. The plant generator draws from it
// so that it writes the same bytes as the reference generator gen_plant.py.
#ifndef TAKT_ENGINE_HARNESS_PYTHON_RANDOM_H_
#define TAKT_ENGINE_HARNESS_PYTHON_RANDOM_H_

#include <array>
#include <cstddef>
#include <cstdint>

namespace takt {

class PythonRandom {
 public:
  explicit PythonRandom(int64_t seed);
  // A double in [0, 1), as random.random() returns it.
  double Next();

 private:
  uint32_t NextWord();
  void InitGenrand(uint32_t s);

  static constexpr size_t kN = 624;
  std::array<uint32_t, kN> mt_{};
  size_t index_ = kN + 1;
};

}  // namespace takt

#endif  // TAKT_ENGINE_HARNESS_PYTHON_RANDOM_H_

#include <unistd.h>

#include <fstream>
#include <string>
#include <string_view>

#include "fuzz/fuzz_targets.h"
#include "takt/config.h"

namespace takt::fuzz {

// A secret every variable the configuration names holds: an error must never show it.
constexpr const char* kSecret = "fuzz-secret-8d1f2e";

int FuzzConfig(const uint8_t* data, size_t size) {
  // LoadConfig reads a file: one per process, written again for each input.
  static const std::string path = "/tmp/takt-fuzz-config-" + std::to_string(getpid()) + ".toml";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  Result<Config> config =
      LoadConfig(path, [](const std::string&) { return std::optional<std::string>(kSecret); });
  if (!config.ok()) {
    const std::string& message = config.status().message();
    Require(!message.empty(), "a refused configuration says why");
    // (Unless the file itself holds the secret's text: an error quotes the file.)
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    Require(message.find(kSecret) == std::string::npos || input.find(kSecret) != input.npos,
            "an error never shows a secret");
  }
  return 0;
}

}  // namespace takt::fuzz

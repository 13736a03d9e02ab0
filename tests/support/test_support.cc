#include "support/test_support.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace takt::test {

namespace fs = std::filesystem;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::vector<std::string> ListFiles(const std::string& dir, const std::string& suffix) {
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().string();
    if (entry.is_regular_file() && name.size() >= suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      files.push_back(name);
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

bool UpdateGolden() {
  const char* v = std::getenv("TAKT_UPDATE_GOLDEN");
  return v != nullptr && std::string(v) == "1";
}

CommandResult RunCommand(const std::string& command) {
  const fs::path dir = fs::temp_directory_path() / ("takt-run-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string out = (dir / "out").string();
  const std::string err = (dir / "err").string();
  const int status =
      std::system(("(" + command + ") </dev/null >" + out + " 2>" + err).c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = ReadFile(out);
  r.err = ReadFile(err);
  fs::remove_all(dir);
  return r;
}

std::string Takt() { return std::string("'") + TAKT_BINARY + "'"; }

ScratchDir::ScratchDir(const std::string& name)
    : dir((fs::temp_directory_path() / ("takt-" + name + "-" + std::to_string(::getpid())))
              .string()) {
  fs::remove_all(dir);
  fs::create_directories(dir);
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::add, ec);
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_directory(ec)) fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
  }
  fs::remove_all(dir, ec);
}

std::string SharedDir() {
  const std::string dir = TAKT_SHARED_DIR;
  return fs::exists(fs::path(dir) / "workloads" / "PLANT.md") ? dir : "";
}

std::unique_ptr<Engine> OpenPlantEngine() {
  EngineOptions options;
  options.workflow_paths = {std::string(TAKT_SOURCE_DIR) + "/workflows"};
  Result<std::unique_ptr<Engine>> engine = Engine::Open(options);
  EXPECT_TRUE(engine.ok()) << engine.status().message();
  return engine.ok() ? std::move(engine).value() : nullptr;
}

std::unique_ptr<Engine> OpenEngineOnText(const std::string& takt_source) {
  static int counter = 0;
  const fs::path path = fs::temp_directory_path() /
                        ("takt-test-" + std::to_string(::getpid()) + "-" +
                         std::to_string(counter++) + ".takt");
  WriteFile(path.string(), takt_source);
  EngineOptions options;
  options.workflow_paths = {path.string()};
  Result<std::unique_ptr<Engine>> engine = Engine::Open(options);
  fs::remove(path);
  EXPECT_TRUE(engine.ok()) << engine.status().message();
  return engine.ok() ? std::move(engine).value() : nullptr;
}

}  // namespace takt::test

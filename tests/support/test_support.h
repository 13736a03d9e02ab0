// Helpers shared by the test suites: reading files, running the takt command, and finding the
// project's sibling shared/ directory (present in CI, absent in a user's clone).
#ifndef TAKT_TESTS_SUPPORT_TEST_SUPPORT_H_
#define TAKT_TESTS_SUPPORT_TEST_SUPPORT_H_

#include <memory>
#include <string>
#include <vector>

#include "takt/engine.h"

namespace takt::test {

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& text);
// Files in `dir` (not below it) whose names end with `suffix`, sorted.
std::vector<std::string> ListFiles(const std::string& dir, const std::string& suffix);

// True when golden files should be rewritten from the actual output (TAKT_UPDATE_GOLDEN=1).
bool UpdateGolden();

struct CommandResult {
  int exit_code = -1;
  std::string out;  // standard output
  std::string err;  // standard error
};
// Runs `command` through the shell, with standard input from /dev/null.
CommandResult RunCommand(const std::string& command);
// The takt binary under test, quoted for the shell.
std::string Takt();

// A scratch folder for one test, in the temporary folder, made empty at the start and removed
// (with whatever permissions the test took from it) at the end.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string dir;
};

// The shared/ directory beside the project, or "" when it is not there.
std::string SharedDir();

// An engine on the shipped workflows (workflows/, stdlib built in); fails the test if it
// does not open.
std::unique_ptr<Engine> OpenPlantEngine();
// An engine on a workflow given as text (written to a temporary file).
std::unique_ptr<Engine> OpenEngineOnText(const std::string& takt_source);

}  // namespace takt::test

#endif  // TAKT_TESTS_SUPPORT_TEST_SUPPORT_H_

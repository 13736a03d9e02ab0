// The verbs of the takt command. Each registers its subcommand and runs it; all of them use
// only the public API in include/takt/.
#ifndef TAKT_CLI_COMMANDS_H_
#define TAKT_CLI_COMMANDS_H_

#include <functional>

namespace CLI {
class App;
}

namespace takt::cli {

// Each returns the function that runs the verb once parsing succeeded; it returns the exit code.
using Runner = std::function<int()>;

Runner AddCheck(CLI::App& app);
Runner AddSimulate(CLI::App& app);
Runner AddGraph(CLI::App& app);
Runner AddGenerate(CLI::App& app);
Runner AddTest(CLI::App& app);
Runner AddTrace(CLI::App& app);
Runner AddAudit(CLI::App& app);
Runner AddDispatch(CLI::App& app);
Runner AddDlq(CLI::App& app);
Runner AddServe(CLI::App& app);

// Sets up the heap for large simulations, before anything is allocated (allocator.cc).
void TuneAllocator();

}  // namespace takt::cli

#endif  // TAKT_CLI_COMMANDS_H_

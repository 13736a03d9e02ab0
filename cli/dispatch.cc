// takt dispatch --config FILE: delivers the outbox of the configured database through the
// configured connectors until SIGINT or SIGTERM (deliveries under way end first, then exit 0),
// or, with --until-idle, until every command a connector delivers is delivered or dead.
// takt dlq list|show|retry|drop --config FILE: the dead letters, for an operator.
#include <CLI/CLI.hpp>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <csignal>
#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "cli/terminal_text.h"
#include "takt/config.h"
#include "takt/dispatch.h"

namespace takt::cli {
namespace {

// SIGINT and SIGTERM, blocked in every thread and taken by one of its own (sigwait), which
// stops the dispatcher: Stop() takes a lock, which a signal handler may not. SIGUSR1 ends the
// waiting thread once the dispatcher is done.
class StopOnSignals {
 public:
  StopOnSignals() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGUSR1);
    // Before any thread starts, so that every thread inherits the mask.
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  }
  ~StopOnSignals() { Finish(); }
  // Ends the waiting thread; before the dispatcher it stops goes away.
  void Finish() {
    if (waiter_.joinable()) {
      kill(getpid(), SIGUSR1);
      waiter_.join();
    }
  }
  void Watch(Dispatcher& dispatcher) {
    waiter_ = std::thread([this, &dispatcher] {
      int signal = 0;
      while (sigwait(&set_, &signal) == 0 && signal != SIGUSR1) dispatcher.Stop();
    });
  }

 private:
  sigset_t set_;
  std::thread waiter_;
};

// The configuration and an engine on its database; kInvalidArgument without a database.
Result<std::unique_ptr<Engine>> OpenConfigured(const std::string& path, Config& config) {
  Result<Config> loaded = LoadConfig(path);
  if (!loaded.ok()) return loaded.status();
  config = std::move(loaded).value();
  if (config.engine.store_path.empty()) {
    return Status::InvalidArgument(path + ": [engine] database is required: the outbox is there");
  }
  config.engine.watch_rules = false;  // this process applies no events
  config.engine.on_log = [](LogLevel level, std::string_view message) {
    if (level >= LogLevel::kWarn) std::cerr << "takt: " << ForTerminal(message) << "\n";
  };
  config.dispatch.on_log = config.engine.on_log;
  return Engine::Open(config.engine);
}

int Fail(const char* verb, const Status& status) {
  std::cerr << "takt " << verb << ": " << ForTerminal(status.message()) << "\n";
  return status.code() == Code::kParseError ? 1 : 2;
}

void PrintCommand(const PendingCommand& p, bool whole) {
  std::cout << ForTerminal(p.command.id) << "  " << ForTerminal(p.command.name) << "  attempts "
            << p.attempts << "  " << ForTerminal(p.last_error) << "\n";
  if (!whole) return;
  std::cout << "  key:        " << ForTerminal(p.key) << "\n"
            << "  caused by:  " << ForTerminal(p.command.caused_by) << "\n"
            << "  emitted by: " << ForTerminal(p.command.emitted_by) << "\n"
            << "  data:       " << ForTerminal(p.command.payload_json) << "\n";
}

}  // namespace

Runner AddDispatch(CLI::App& app) {
  struct Options {
    std::string config;
    bool until_idle = false;
    int64_t max_wait_ms = 0;
  };
  auto options = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("dispatch", "Deliver the outbox through the connectors");
  cmd->add_option("--config", options->config, "the configuration file (TOML)")->required();
  cmd->add_flag("--until-idle", options->until_idle,
                "exit once every command a connector delivers is delivered or dead");
  cmd->add_option("--max-wait-ms", options->max_wait_ms,
                  "with --until-idle: give up waiting after this long (exit 1)")
      ->check(CLI::NonNegativeNumber);
  cmd->footer(
      "Exit status: 0 stopped by SIGINT or SIGTERM, or idle; 1 the configuration has errors, or\n"
      "commands still wait after --max-wait-ms; 2 the database or a file cannot be read.");
  return [options] {
    StopOnSignals signals;
    Config config;
    Result<std::unique_ptr<Engine>> engine = OpenConfigured(options->config, config);
    if (!engine.ok()) return Fail("dispatch", engine.status());
    Result<std::unique_ptr<Dispatcher>> dispatcher =
        Dispatcher::Create(*engine.value(), config.dispatch);
    if (!dispatcher.ok()) return Fail("dispatch", dispatcher.status());
    signals.Watch(*dispatcher.value());
    const Status run = dispatcher.value()->Run(options->until_idle, options->max_wait_ms);
    signals.Finish();
    const DispatchCounts c = dispatcher.value()->counts();
    std::cerr << "takt dispatch: " << c.delivered << " delivered, " << c.retried
              << " to retry, " << c.dead << " dead, " << c.unrouted
              << " waiting for a connector that delivers them\n";
    if (run.code() == Code::kLimitExceeded) {
      std::cerr << "takt dispatch: " << ForTerminal(run.message()) << "\n";
      return 1;
    }
    if (!run.ok()) return Fail("dispatch", run);
    return 0;
  };
}

Runner AddDlq(CLI::App& app) {
  struct Options {
    std::string config;
    std::string action;
    std::vector<std::string> ids;
    bool all = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("dlq", "List, show, retry or drop dead letters");
  cmd->add_option("action", options->action, "list, show ID, retry ID... | --all, drop ID...")
      ->required()
      ->check(CLI::IsMember({"list", "show", "retry", "drop"}));
  cmd->add_option("ids", options->ids, "command ids");
  cmd->add_option("--config", options->config, "the configuration file (TOML)")->required();
  cmd->add_flag("--all", options->all, "with retry: every dead letter");
  cmd->footer(
      "retry puts a dead letter back for a new round of deliveries (the next takt dispatch);\n"
      "drop keeps it, as dropped, and never offers it again.\n"
      "Exit status: 0 done; 1 a command is not a dead letter; 2 a file cannot be read.");
  return [options] {
    Config config;
    Result<std::unique_ptr<Engine>> engine = OpenConfigured(options->config, config);
    if (!engine.ok()) return Fail("dlq", engine.status());
    Result<std::vector<PendingCommand>> dead = engine.value()->DeadLetters(SIZE_MAX);
    if (!dead.ok()) return Fail("dlq", dead.status());
    const std::string& action = options->action;
    if (action == "list") {
      for (const PendingCommand& p : dead.value()) PrintCommand(p, false);
      std::cerr << dead.value().size() << " dead letter(s)\n";
      return 0;
    }
    std::vector<std::string> ids = options->ids;
    if (action == "retry" && options->all) {
      for (const PendingCommand& p : dead.value()) ids.push_back(p.command.id);
    }
    if (ids.empty() && !(action == "retry" && options->all)) {
      std::cerr << "takt dlq " << action << ": name the command id(s)\n";
      return 2;
    }
    int failed = 0;
    for (const std::string& id : ids) {
      if (action == "show") {
        bool found = false;
        for (const PendingCommand& p : dead.value()) {
          if (p.command.id == id) {
            PrintCommand(p, true);
            found = true;
          }
        }
        if (!found) {
          std::cerr << "takt dlq show: " << ForTerminal(id) << " is not a dead letter\n";
          ++failed;
        }
        continue;
      }
      const Status s = action == "retry" ? engine.value()->ReviveDead(id)
                                         : engine.value()->DropDead(id);
      if (!s.ok()) {
        std::cerr << "takt dlq " << action << ": " << ForTerminal(s.message()) << "\n";
        ++failed;
      } else {
        std::cout << (action == "retry" ? "retry " : "dropped ") << ForTerminal(id) << "\n";
      }
    }
    return failed == 0 ? 0 : 1;
  };
}

}  // namespace takt::cli

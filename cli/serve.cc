// takt serve --config FILE: the integration server (include/takt/serve.h) until SIGINT or
// SIGTERM (ingestion stops, what is under way commits and is answered, exit 0); SIGHUP reloads
// rules and workflows. Logs go to standard error through spdlog, as text or JSON lines.
// takt serve hash-token: the SHA-256 of a token read from standard input, for [[credential]].
#include <CLI/CLI.hpp>
#include <pthread.h>
#include <signal.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "cli/terminal_text.h"
#include "takt/config.h"
#include "takt/serve.h"

namespace takt::cli {
namespace {

void AppendJsonString(std::string& out, std::string_view text) {
  out += '"';
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out += escaped;
    } else {
      out += ch;
    }
  }
  out += '"';
}

spdlog::level::level_enum LevelOf(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return spdlog::level::debug;
    case LogLevel::kInfo: return spdlog::level::info;
    case LogLevel::kWarn: return spdlog::level::warn;
    case LogLevel::kError: return spdlog::level::err;
  }
  return spdlog::level::info;
}

// One line per LogLine: text ("... id=E key=K source=S") or a JSON object with the same fields.
std::function<void(const LogLine&)> Logger(bool json) {
  auto logger = spdlog::stderr_logger_mt("takt");
  logger->set_level(spdlog::level::info);
  if (json) {
    logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l",%v})",
                        spdlog::pattern_time_type::utc);
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l %v", spdlog::pattern_time_type::utc);
  }
  logger->flush_on(spdlog::level::info);
  return [logger, json](const LogLine& line) {
    std::string text;
    if (json) {
      text = "\"message\":";
      AppendJsonString(text, line.message);
      for (const auto& [name, value] : {std::pair<const char*, std::string_view>{"event_id",
                                                                                 line.event_id},
                                        {"key", line.key},
                                        {"source", line.source}}) {
        if (value.empty()) continue;
        text += ",\"" + std::string(name) + "\":";
        AppendJsonString(text, value);
      }
    } else {
      text = ForLogLine(line.message);
      if (!line.event_id.empty()) text += " id=" + ForLogLine(line.event_id);
      if (!line.key.empty()) text += " key=" + ForLogLine(line.key);
      if (!line.source.empty()) text += " source=" + ForLogLine(line.source);
    }
    logger->log(LevelOf(line.level), "{}", text);
  };
}

int Fail(const Status& status) {
  std::cerr << "takt serve: " << ForTerminal(status.message()) << "\n";
  return status.code() == Code::kParseError ? 1 : 2;
}

}  // namespace

Runner AddServe(CLI::App& app) {
  struct Options {
    std::string config;
    std::string log_format = "text";
    bool hash_token = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("serve", "Run the integration server (HTTP, MQTT, timers, "
                                              "dispatcher, metrics)");
  cmd->add_option("--config", options->config, "the configuration file (TOML)");
  cmd->add_option("--log-format", options->log_format, "text or json (JSON lines)")
      ->check(CLI::IsMember({"text", "json"}));
  cmd->add_flag("--hash-token", options->hash_token,
                "print the SHA-256 of the token on standard input, for [[credential]] "
                "token_sha256, and exit");
  cmd->footer(
      "Signals: SIGTERM or SIGINT stop ingestion, commit and answer what is under way, exit 0;\n"
      "SIGHUP reloads rules and workflows (a broken version is refused; the running one stays).\n"
      "Exit status: 0 stopped by a signal; 1 the configuration has errors; 2 a file cannot be\n"
      "read, the database cannot be opened or the address cannot be bound.");
  return [options] {
    if (options->hash_token) {
      std::string token;
      std::getline(std::cin, token);
      if (token.empty()) {
        std::cerr << "takt serve --hash-token: no token on standard input\n";
        return 2;
      }
      std::cout << HashToken(token) << "\n";
      return 0;
    }
    if (options->config.empty()) {
      std::cerr << "takt serve: --config is required\n";
      return 2;
    }
    // Signals go to a thread of their own (sigwait): Stop() and Reload() take locks, which a
    // signal handler may not. Blocked before any thread starts, so every thread inherits it.
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGUSR1}) sigaddset(&set, s);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);

    Result<Config> config = LoadConfig(options->config);
    if (!config.ok()) return Fail(config.status());
    Result<std::unique_ptr<Server>> server =
        Server::Open(config.value(), Logger(options->log_format == "json"));
    if (!server.ok()) return Fail(server.status());
    Server& s = *server.value();
    std::thread signals([&] {
      int signal = 0;
      while (sigwait(&set, &signal) == 0 && signal != SIGUSR1) {
        if (signal == SIGHUP) {
          s.Reload();
        } else {
          s.Stop();
        }
      }
    });
    const Status run = s.Run();
    kill(getpid(), SIGUSR1);  // ends the signal thread
    signals.join();
    if (!run.ok()) return Fail(run);
    return 0;
  };
}

}  // namespace takt::cli

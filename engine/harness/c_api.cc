// include/takt/takt.h over engine.h. Each entry point runs inside Guard(), which turns a
// non-ok Status into a takt_code plus the thread's last error, and catches anything thrown so
// that no exception reaches C.
#include "takt/takt.h"

#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>

#include "engine/event/lines.h"
#include "engine/harness/json_codec.h"
#include "takt/config.h"
#include "takt/dispatch.h"
#include "takt/engine.h"

struct takt_engine {
  std::unique_ptr<takt::Engine> engine;
};

struct takt_dispatcher {
  std::unique_ptr<takt::Dispatcher> dispatcher;
};

namespace {

thread_local std::string t_last_error;

takt_code CodeOf(const takt::Status& status) {
  switch (status.code()) {
    case takt::Code::kOk: return TAKT_OK;
    case takt::Code::kInvalidArgument: return TAKT_INVALID_ARGUMENT;
    case takt::Code::kNotFound: return TAKT_NOT_FOUND;
    case takt::Code::kAlreadyExists: return TAKT_ALREADY_EXISTS;
    case takt::Code::kParseError: return TAKT_PARSE_ERROR;
    case takt::Code::kRuleError: return TAKT_RULE_ERROR;
    case takt::Code::kLimitExceeded: return TAKT_LIMIT_EXCEEDED;
    case takt::Code::kIoError: return TAKT_IO_ERROR;
    case takt::Code::kCorruption: return TAKT_CORRUPTION;
  }
  return TAKT_INTERNAL;
}

takt_code Fail(takt_code code, std::string message) {
  t_last_error = std::move(message);
  return code;
}

template <typename Body>
takt_code Guard(Body body) noexcept {
  try {
    t_last_error.clear();
    const takt::Status status = body();
    if (status.ok()) return TAKT_OK;
    return Fail(CodeOf(status), status.message());
  } catch (const std::bad_alloc&) {
    return Fail(TAKT_INTERNAL, "out of memory");
  } catch (const std::exception& e) {
    return Fail(TAKT_INTERNAL, std::string("internal error: ") + e.what());
  } catch (...) {
    return Fail(TAKT_INTERNAL, "internal error");
  }
}

// A copy of `text` the caller frees with takt_free().
char* Give(const std::string& text) {
  char* out = static_cast<char*>(std::malloc(text.size() + 1));
  if (out == nullptr) throw std::bad_alloc();
  std::memcpy(out, text.data(), text.size() + 1);
  return out;
}

takt::Status Require(const void* pointer, const char* what) {
  if (pointer != nullptr) return takt::Status();
  return takt::Status::InvalidArgument(std::string(what) + " is NULL");
}

// An output argument: it must be given, and holds NULL until there is something to return.
// An output argument: not NULL, and set to NULL until there is something to give.
template <typename T>
takt::Status RequireOut(T** out, const char* what) {
  TAKT_RETURN_IF_ERROR(Require(out, what));
  *out = nullptr;
  return takt::Status();
}

}  // namespace

extern "C" {

const char* takt_version(void) { return TAKT_VERSION; }

const char* takt_last_error(void) { return t_last_error.c_str(); }

takt_code takt_open(const char* options_json, const takt_callbacks* callbacks,
                    takt_engine** engine) {
  return Guard([&]() -> takt::Status {
    TAKT_RETURN_IF_ERROR(Require(engine, "engine"));
    *engine = nullptr;
    TAKT_RETURN_IF_ERROR(Require(options_json, "options_json"));
    takt::Result<takt::EngineOptions> options = takt::api::OptionsFromJson(options_json);
    if (!options.ok()) return options.status();
    const takt_callbacks cb = callbacks != nullptr ? *callbacks : takt_callbacks{};
    if (cb.log != nullptr) {
      options.value().on_log = [cb](takt::LogLevel level, std::string_view message) {
        const std::string text(message);
        cb.log(cb.context, static_cast<int>(level), text.c_str());
      };
    }
    if (cb.command != nullptr) {
      options.value().on_command = [cb](const takt::Command& command) {
        cb.command(cb.context, takt::api::CommandJson(command).c_str());
      };
    }
    takt::Result<std::unique_ptr<takt::Engine>> opened =
        takt::Engine::Open(std::move(options).value());
    if (!opened.ok()) return opened.status();
    *engine = new takt_engine{std::move(opened).value()};
    return takt::Status();
  });
}

takt_code takt_close(takt_engine* engine) {
  return Guard([&]() -> takt::Status {
    std::unique_ptr<takt_engine> owned(engine);
    if (owned == nullptr) return takt::Status();
    return owned->engine->Close();
  });
}

takt_code takt_submit(takt_engine* engine, const char* event_json, size_t length,
                      char** result_json) {
  return Guard([&]() -> takt::Status {
    TAKT_RETURN_IF_ERROR(Require(engine, "engine"));
    TAKT_RETURN_IF_ERROR(RequireOut(result_json, "result_json"));
    TAKT_RETURN_IF_ERROR(Require(event_json, "event_json"));
    takt::SubmitResult result;
    TAKT_RETURN_IF_ERROR(engine->engine->Submit(std::string_view(event_json, length), result));
    *result_json = Give(takt::api::ResultJson(result));
    return takt::Status();
  });
}

takt_code takt_advance_clock(takt_engine* engine, int64_t now_ms, char** result_json) {
  return Guard([&]() -> takt::Status {
    TAKT_RETURN_IF_ERROR(Require(engine, "engine"));
    TAKT_RETURN_IF_ERROR(RequireOut(result_json, "result_json"));
    takt::SubmitResult result;
    TAKT_RETURN_IF_ERROR(engine->engine->AdvanceClock(now_ms, result));
    *result_json = Give(takt::api::ResultJson(result));
    return takt::Status();
  });
}

takt_code takt_submit_batch(takt_engine* engine, const char* events_jsonl, size_t length,
                            char** results_json) {
  return Guard([&]() -> takt::Status {
    TAKT_RETURN_IF_ERROR(Require(engine, "engine"));
    TAKT_RETURN_IF_ERROR(RequireOut(results_json, "results_json"));
    TAKT_RETURN_IF_ERROR(Require(events_jsonl, "events_jsonl"));
    const std::vector<std::string_view> events =
        takt::SplitLines(std::string_view(events_jsonl, length));
    std::vector<takt::SubmitResult> results;
    TAKT_RETURN_IF_ERROR(engine->engine->SubmitBatch(events, results));
    *results_json = Give(takt::api::ResultsJson(results));
    return takt::Status();
  });
}

takt_code takt_get_instance(takt_engine* engine, const char* workflow, const char* key,
                            char** instance_json) {
  return Guard([&]() -> takt::Status {
    TAKT_RETURN_IF_ERROR(Require(engine, "engine"));
    TAKT_RETURN_IF_ERROR(RequireOut(instance_json, "instance_json"));
    TAKT_RETURN_IF_ERROR(Require(workflow, "workflow"));
    TAKT_RETURN_IF_ERROR(Require(key, "key"));
    takt::Result<takt::InstanceInfo> info = engine->engine->GetInstance(workflow, key);
    if (!info.ok()) return info.status();
    *instance_json = Give(takt::api::InstanceJson(info.value()));
    return takt::Status();
  });
}

takt_code takt_stats(takt_engine* engine, char** stats_json) {
  return Guard([&]() -> takt::Status {
    TAKT_RETURN_IF_ERROR(Require(engine, "engine"));
    TAKT_RETURN_IF_ERROR(RequireOut(stats_json, "stats_json"));
    *stats_json = Give(takt::api::StatsJson(engine->engine->stats()));
    return takt::Status();
  });
}

takt_code takt_reload_rules(takt_engine* engine) {
  return Guard([&]() -> takt::Status {
    TAKT_RETURN_IF_ERROR(Require(engine, "engine"));
    return engine->engine->ReloadRules();
  });
}

takt_code takt_pending_commands(takt_engine* engine, size_t max, char** commands_json) {
  return Guard([&]() -> takt::Status {
    TAKT_RETURN_IF_ERROR(Require(engine, "engine"));
    TAKT_RETURN_IF_ERROR(RequireOut(commands_json, "commands_json"));
    takt::Result<std::vector<takt::PendingCommand>> pending = engine->engine->PendingCommands(max);
    if (!pending.ok()) return pending.status();
    *commands_json = Give(takt::api::PendingCommandsJson(pending.value()));
    return takt::Status();
  });
}

takt_code takt_mark_delivered(takt_engine* engine, const char* command_id) {
  return Guard([&]() -> takt::Status {
    TAKT_RETURN_IF_ERROR(Require(engine, "engine"));
    TAKT_RETURN_IF_ERROR(Require(command_id, "command_id"));
    return engine->engine->MarkDelivered(command_id);
  });
}

takt_code takt_mark_failed(takt_engine* engine, const char* command_id, const char* error,
                           int give_up) {
  return Guard([&]() -> takt::Status {
    TAKT_RETURN_IF_ERROR(Require(engine, "engine"));
    TAKT_RETURN_IF_ERROR(Require(command_id, "command_id"));
    return engine->engine->MarkFailed(command_id, error != nullptr ? error : "", give_up != 0);
  });
}

takt_code takt_dead_letters(takt_engine* engine, size_t max, char** commands_json) {
  return Guard([&]() -> takt::Status {
    TAKT_RETURN_IF_ERROR(Require(engine, "engine"));
    TAKT_RETURN_IF_ERROR(RequireOut(commands_json, "commands_json"));
    takt::Result<std::vector<takt::PendingCommand>> dead = engine->engine->DeadLetters(max);
    if (!dead.ok()) return dead.status();
    *commands_json = Give(takt::api::PendingCommandsJson(dead.value()));
    return takt::Status();
  });
}

takt_code takt_revive_dead(takt_engine* engine, const char* command_id) {
  return Guard([&]() -> takt::Status {
    TAKT_RETURN_IF_ERROR(Require(engine, "engine"));
    TAKT_RETURN_IF_ERROR(Require(command_id, "command_id"));
    return engine->engine->ReviveDead(command_id);
  });
}

takt_code takt_drop_dead(takt_engine* engine, const char* command_id) {
  return Guard([&]() -> takt::Status {
    TAKT_RETURN_IF_ERROR(Require(engine, "engine"));
    TAKT_RETURN_IF_ERROR(Require(command_id, "command_id"));
    return engine->engine->DropDead(command_id);
  });
}

takt_code takt_dispatcher_open(takt_engine* engine, const char* config_path,
                               takt_dispatcher** dispatcher) {
  return Guard([&]() -> takt::Status {
    TAKT_RETURN_IF_ERROR(Require(engine, "engine"));
    TAKT_RETURN_IF_ERROR(Require(config_path, "config_path"));
    TAKT_RETURN_IF_ERROR(RequireOut(dispatcher, "dispatcher"));
    takt::Result<takt::Config> config = takt::LoadConfig(config_path);
    if (!config.ok()) return config.status();
    takt::Result<std::unique_ptr<takt::Dispatcher>> made =
        takt::Dispatcher::Create(*engine->engine, config.value().dispatch);
    if (!made.ok()) return made.status();
    auto handle = std::make_unique<takt_dispatcher>();
    handle->dispatcher = std::move(made).value();
    *dispatcher = handle.release();
    return takt::Status();
  });
}

takt_code takt_dispatcher_run(takt_dispatcher* dispatcher, int until_idle, long long max_wait_ms) {
  return Guard([&]() -> takt::Status {
    TAKT_RETURN_IF_ERROR(Require(dispatcher, "dispatcher"));
    return dispatcher->dispatcher->Run(until_idle != 0, max_wait_ms);
  });
}

takt_code takt_dispatcher_stop(takt_dispatcher* dispatcher) {
  return Guard([&]() -> takt::Status {
    TAKT_RETURN_IF_ERROR(Require(dispatcher, "dispatcher"));
    dispatcher->dispatcher->Stop();
    return takt::Status();
  });
}

takt_code takt_dispatcher_counts(takt_dispatcher* dispatcher, char** counts_json) {
  return Guard([&]() -> takt::Status {
    TAKT_RETURN_IF_ERROR(Require(dispatcher, "dispatcher"));
    TAKT_RETURN_IF_ERROR(RequireOut(counts_json, "counts_json"));
    const takt::DispatchCounts c = dispatcher->dispatcher->counts();
    *counts_json = Give("{\"delivered\":" + std::to_string(c.delivered) +
                        ",\"retried\":" + std::to_string(c.retried) +
                        ",\"dead\":" + std::to_string(c.dead) +
                        ",\"unrouted\":" + std::to_string(c.unrouted) + "}");
    return takt::Status();
  });
}

takt_code takt_dispatcher_close(takt_dispatcher* dispatcher) {
  return Guard([&]() -> takt::Status {
    delete dispatcher;
    return takt::Status();
  });
}

void takt_free(char* text) { std::free(text); }

}  // extern "C"

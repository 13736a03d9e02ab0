// The HTTP API (docs/openapi.yaml): events in, instances and commands out, the dead-letter
// actions, health and metrics. Every answer is JSON, errors included ({"error": "..."}), but
// /metrics, which is Prometheus text.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "engine/serve/read_clock.h"
#include "engine/serve/server.h"

namespace takt::serve {
namespace {

using httplib::Request;
using httplib::Response;

// Who may call an endpoint.
enum class Need { kNobody, kCredential, kPublisher, kAdmin };

void Json(Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void Error(Response& res, int status, const std::string& message) {
  Json(res, status, nlohmann::json{{"error", message}});
}

// The credential of the request when it may call an endpoint that needs `need`; otherwise
// null, with the 401 or 403 answer written.
const Credential* Authorize(const AccessControl& access, const Request& req, Response& res,
                            Need need) {
  static const Credential kNobody;
  if (need == Need::kNobody) return &kNobody;
  const Credential* who = access.Authenticate(req.get_header_value("Authorization"));
  if (who == nullptr) {
    res.set_header("WWW-Authenticate", "Bearer");
    Error(res, 401, req.has_header("Authorization") ? "unknown credential"
                                                    : "a bearer token is required");
    return nullptr;
  }
  if (need == Need::kAdmin && !who->admin) {
    Error(res, 403, "credential " + who->name + " is not an administrator");
    return nullptr;
  }
  if (need == Need::kPublisher && who->source.empty()) {
    Error(res, 403, "credential " + who->name + " publishes no events");
    return nullptr;
  }
  return who;
}

nlohmann::json CommandJson(const PendingCommand& p) {
  nlohmann::json payload = nlohmann::json::parse(p.command.payload_json, nullptr, false);
  return {{"id", p.command.id},
          {"name", p.command.name},
          {"payload", payload.is_discarded() ? nlohmann::json(p.command.payload_json) : payload},
          {"caused_by", p.command.caused_by},
          {"emitted_by", p.command.emitted_by},
          {"key", p.key},
          {"status", p.status},
          {"attempts", p.attempts},
          {"last_error", p.last_error},
          {"next_attempt_at_ms", p.next_attempt_at_ms},
          {"first_attempt_at_ms", p.first_attempt_at_ms}};
}

int StatusFor(const Status& status) {
  switch (status.code()) {
    case Code::kNotFound: return 404;
    case Code::kInvalidArgument: return 409;
    default: return 503;
  }
}

size_t Limit(const Request& req, size_t fallback) {
  if (!req.has_param("limit")) return fallback;
  const std::string text = req.get_param_value("limit");
  char* end = nullptr;
  const unsigned long long n = std::strtoull(text.c_str(), &end, 10);
  if (end == text.c_str() || *end != '\0' || n == 0) return fallback;
  return static_cast<size_t>(std::min<unsigned long long>(n, 1000));
}

}  // namespace

void ServerImpl::InstallRoutes() {
  httplib::Server& http = *http_;
  // Every route: its endpoint name (metrics), who may call it, and the handler. `plain` routes
  // need no engine; the others get it held for as long as they run (a workflow reload waits for
  // them), or answer 503 while there is none.
  using Handler = std::function<void(const Credential&, const Request&, Response&)>;
  using EngineHandler =
      std::function<void(const Credential&, Engine&, const Request&, Response&)>;
  auto plain = [this](const char* endpoint, Need need, Handler handle) {
    return [this, endpoint, need, handle](const Request& req, Response& res) {
      const Credential* who = Authorize(access_, req, res, need);
      if (who != nullptr) handle(*who, req, res);
      metrics_.CountRequest(endpoint, res.status);
    };
  };
  auto route = [this, plain](const char* endpoint, Need need, EngineHandler handle) {
    return plain(endpoint, need,
                 [this, handle](const Credential& who, const Request& req, Response& res) {
                   Hold hold = Use();
                   if (hold.engine == nullptr) {
                     return Error(res, 503, "not ready: the engine is not open");
                   }
                   handle(who, *hold.engine, req, res);
                 });
  };

  http.Post("/v1/events", route("events", Need::kPublisher,
                                [this](const Credential& who, Engine& engine, const Request& req,
                                       Response& res) {
    const auto received = std::chrono::steady_clock::now();
    const std::vector<std::string_view> events =
        Ingest::SplitBody(req.body, req.get_header_value("Content-Type"));
    if (events.empty()) return Error(res, 400, "no event in the body");
    std::vector<EventAnswer> answers;
    std::string forbidden;
    Status status = ingest_.Submit(engine, who, events, received, answers, forbidden);
    if (!status.ok()) {
      // Nothing of the request was accepted: sending it again is safe.
      return Error(res, 503, "not committed, send again: " + status.message());
    }
    if (!forbidden.empty()) return Error(res, 403, forbidden);
    res.status = 200;
    res.set_content(Ingest::AnswerJson(answers), "application/json");
  }));

  http.Get(R"(/v1/instances/([^/]+)/([^/]+))",
           route("instance", Need::kCredential,
                 [](const Credential&, Engine& engine, const Request& req, Response& res) {
    Result<InstanceInfo> info = engine.GetInstance(req.matches[1].str(), req.matches[2].str());
    if (!info.ok()) return Error(res, StatusFor(info.status()), info.status().message());
    const InstanceInfo& i = info.value();
    nlohmann::json variables = nlohmann::json::parse(i.variables_json, nullptr, false);
    nlohmann::json body{{"workflow", i.workflow}, {"key", i.key}, {"state", i.state},
                        {"final", i.final}, {"lifecycle", i.lifecycle}, {"version", i.version},
                        {"variables", variables.is_discarded() ? nlohmann::json::object()
                                                               : variables}};
    if (i.overdue_since) body["overdue_since"] = *i.overdue_since;
    Json(res, 200, body);
  }));

  http.Get("/v1/instances", route("instances", Need::kCredential,
                                  [](const Credential&, Engine& engine, const Request& req,
                                     Response& res) {
    const std::string workflow = req.get_param_value("workflow");
    const std::string state = req.get_param_value("state");
    const std::string after = req.get_param_value("after");  // "WORKFLOW/KEY" of the last one
    const bool overdue_only = req.get_param_value("overdue") == "true";
    const size_t limit = Limit(req, 100);
    nlohmann::json list = nlohmann::json::array();
    std::string next;
    engine.ForEachInstance([&](const InstanceSummary& s) {
      if (!workflow.empty() && s.workflow != workflow) return;
      if (!state.empty() && s.state != state) return;
      if (overdue_only && !s.overdue_since) return;
      std::string at = std::string(s.workflow) + "/" + std::string(s.key);
      if (!after.empty() && at <= after) return;
      if (list.size() == limit) {
        if (next.empty()) next = std::string(list.back()["workflow"]) + "/" +
                                 std::string(list.back()["key"]);
        return;
      }
      list.push_back({{"workflow", s.workflow}, {"key", s.key}, {"state", s.state},
                      {"final", s.final}});
      if (s.overdue_since) list.back()["overdue_since"] = *s.overdue_since;
    });
    nlohmann::json body{{"instances", list}};
    if (!next.empty()) body["next"] = next;
    Json(res, 200, body);
  }));

  http.Get("/v1/commands", route("commands", Need::kCredential,
                                 [](const Credential&, Engine& engine, const Request& req,
                                    Response& res) {
    const std::string status = req.get_param_value("status");
    if (!status.empty() && status != "dead" && status != "pending" && status != "retry" &&
        status != "in_flight") {
      return Error(res, 400, "status: one of pending, in_flight, retry, dead");
    }
    const size_t limit = Limit(req, 100);
    // Pending, in flight and retry are read together, in emission order, and filtered here.
    Result<std::vector<PendingCommand>> listed =
        status == "dead" ? engine.DeadLetters(limit)
                         : engine.PendingCommands(status.empty() ? limit : 100'000);
    if (!listed.ok()) return Error(res, StatusFor(listed.status()), listed.status().message());
    nlohmann::json list = nlohmann::json::array();
    for (const PendingCommand& p : listed.value()) {
      if (!status.empty() && p.status != status) continue;
      if (list.size() == limit) break;
      list.push_back(CommandJson(p));
    }
    Json(res, 200, {{"commands", list}});
  }));

  auto dead_letter_action = [this](bool retry) {
    return [this, retry](const Credential& who, Engine& engine, const Request& req,
                         Response& res) {
      const std::string id = req.matches[1].str();
      Status status = retry ? engine.ReviveDead(id) : engine.DropDead(id);
      if (!status.ok()) return Error(res, StatusFor(status), status.message());
      on_log_(LogLine{LogLevel::kInfo,
                      std::string(retry ? "dead letter revived" : "dead letter dropped") +
                          " by " + who.name + ": " + id,
                      {}, {}, {}});
      Json(res, 200, {{"id", id}, {"status", retry ? "pending" : "dropped"}});
    };
  };
  http.Post(R"(/v1/commands/(.+)/retry)",
            route("command_retry", Need::kAdmin, dead_letter_action(true)));
  http.Post(R"(/v1/commands/(.+)/drop)",
            route("command_drop", Need::kAdmin, dead_letter_action(false)));

  http.Post("/v1/reload", plain("reload", Need::kAdmin,
                                [this](const Credential&, const Request&, Response& res) {
    Reload();
    Json(res, 202, {{"reload", "requested"}});
  }));

  http.Get("/v1/health", plain("health", Need::kNobody,
                               [this](const Credential&, const Request&, Response& res) {
    const bool is_ready = ready_.load();
    Json(res, is_ready ? 200 : 503, {{"ready", is_ready}});
  }));

  http.Get("/metrics", plain("metrics", Need::kCredential,
                             [this](const Credential&, const Request&, Response& res) {
    res.status = 200;
    res.set_content(MetricsText(), "text/plain; version=0.0.4");
  }));

  // What no route answered, and what httplib refused itself (413, 400): JSON too.
  const auto read_timeout = std::chrono::milliseconds(config_.serve.read_timeout_ms);
  http.set_error_handler([read_timeout](const Request& req, Response& res) {
    if (!res.body.empty()) return;
    // cpp-httplib answers 400 when a read fails, late or broken alike. A body shorter than its
    // Content-Length did not arrive in time (or its client went away); a request line or
    // headers that failed read_timeout_ms or more after the request began were waited for
    // until the read gave up. Both are 408.
    const bool body_short =
        req.has_header("Content-Length") &&
        std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10) >
            req.body.size();
    if (res.status == 400 && (body_short || TimeSinceRequestBegan() >= read_timeout)) {
      res.status = 408;
    }
    const char* what = res.status == 404   ? "no such endpoint"
                       : res.status == 413 ? "body larger than max_body_bytes"
                       : res.status == 408 ? "request not received in time"
                                           : "bad request";
    Error(res, res.status, what);
  });
  http.set_exception_handler([](const Request&, Response& res, std::exception_ptr) {
    Error(res, 500, "internal error");
  });
}

}  // namespace takt::serve

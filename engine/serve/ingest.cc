#include "engine/serve/ingest.h"

#include <simdjson.h>

#include "dsl/value.h"
#include "engine/event/lines.h"

namespace takt::serve {
namespace {

namespace od = simdjson::ondemand;

struct Envelope {
  std::string id, source, type, key;
};

// The envelope's strings, or why it has none that access control could check.
bool ReadEnvelope(std::string_view json, Envelope& out, std::string& reason) {
  thread_local od::parser parser;
  const simdjson::padded_string padded(json);
  od::document doc;
  od::object object;
  if (parser.iterate(padded).get(doc) != simdjson::SUCCESS ||
      doc.get_object().get(object) != simdjson::SUCCESS) {
    reason = "not a JSON object";
    return false;
  }
  for (auto field : object) {
    std::string_view name;
    if (field.unescaped_key().get(name) != simdjson::SUCCESS) {
      reason = "not a JSON object";
      return false;
    }
    std::string* into = name == "id"       ? &out.id
                        : name == "source" ? &out.source
                        : name == "type"   ? &out.type
                        : name == "key"    ? &out.key
                                           : nullptr;
    if (into == nullptr) continue;
    std::string_view value;
    if (field.value().get_string().get(value) != simdjson::SUCCESS) {
      reason = "field " + std::string(name) + ": expected a string";
      return false;
    }
    into->assign(value);
  }
  if (out.source.empty()) reason = "field source: missing";
  if (out.type.empty()) reason = "field type: missing";
  return reason.empty();
}

const char* AnswerOutcome(Outcome outcome) {
  switch (outcome) {
    case Outcome::kApplied:
    case Outcome::kHeld:
      return "accepted";
    case Outcome::kDuplicate:
      return "duplicate";
    default:
      return "rejected";
  }
}

}  // namespace

Status Ingest::Submit(Engine& engine, const Credential& who,
                      const std::vector<std::string_view>& events,
                      std::chrono::steady_clock::time_point received,
                      std::vector<EventAnswer>& answers, std::string& forbidden,
                      bool all_or_nothing) {
  answers.assign(events.size(), EventAnswer());
  std::vector<Envelope> envelopes(events.size());
  std::vector<std::string_view> readable;
  std::vector<size_t> readable_at;
  readable.reserve(events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    Envelope& envelope = envelopes[i];
    EventAnswer& answer = answers[i];
    std::string reason;
    const bool read = ReadEnvelope(events[i], envelope, reason);
    answer.id = envelope.id;
    answer.key = envelope.key;
    if (!read) {
      // Without a source and type there is nothing to authorize: it never reaches the engine.
      answer.outcome = "rejected";
      answer.detail = "malformed";
      answer.reason = reason;
      metrics_.CountEvent(who.source, "", "malformed");
      log_(LogLine{LogLevel::kInfo, "malformed: " + reason, answer.id, answer.key, who.source});
      continue;
    }
    forbidden = access_.MayPublish(who, envelope.source, envelope.type);
    if (!forbidden.empty()) {
      log_(LogLine{LogLevel::kWarn, "refused: " + forbidden, envelope.id, envelope.key,
                   envelope.source});
      if (all_or_nothing) {
        metrics_.CountEvent(who.source, "", "forbidden", events.size());
        answers.clear();
        return Status();
      }
      metrics_.CountEvent(who.source, "", "forbidden");
      answer.outcome = "rejected";
      answer.detail = "forbidden";
      answer.reason = forbidden;
      forbidden.clear();
      continue;
    }
    readable.push_back(events[i]);
    readable_at.push_back(i);
  }
  std::vector<SubmitResult> results;
  if (!readable.empty()) TAKT_RETURN_IF_ERROR(engine.SubmitBatch(readable, results));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - received).count();
  metrics_.ObserveCommitLatency(seconds, events.size());
  for (size_t n = 0; n < results.size(); ++n) {
    const size_t i = readable_at[n];
    const SubmitResult& r = results[n];
    EventAnswer& answer = answers[i];
    answer.outcome = AnswerOutcome(r.outcome);
    if (answer.outcome == std::string_view("rejected") || r.outcome == Outcome::kHeld) {
      answer.detail = OutcomeName(r.outcome);
    }
    answer.reason = r.reason;
    answer.position = r.position;
    // An undeclared type is no label: a flood of made-up types would otherwise add a series
    // each, without bound, to the metrics' memory and to every scrape.
    std::string_view type = envelopes[i].type;
    if (!access_.Declares(type)) type = {};
    metrics_.CountEvent(envelopes[i].source, type, OutcomeName(r.outcome));
    if (answer.outcome == std::string_view("rejected")) {
      log_(LogLine{LogLevel::kInfo, std::string(OutcomeName(r.outcome)) + ": " + r.reason,
                   answer.id, answer.key, envelopes[i].source});
    }
  }
  return Status();
}

std::vector<std::string_view> Ingest::SplitBody(std::string_view body,
                                                std::string_view content_type) {
  std::vector<std::string_view> events;
  if (content_type.rfind("application/json", 0) == 0) {
    if (body.find_first_not_of(" \t\r\n") != std::string_view::npos) events.push_back(body);
    return events;
  }
  for (const std::string_view line : SplitLines(body)) {
    if (line.find_first_not_of(" \t") != std::string_view::npos) events.push_back(line);
  }
  return events;
}

std::string Ingest::AnswerJson(const std::vector<EventAnswer>& answers) {
  std::string out = "{\"results\":[";
  for (size_t i = 0; i < answers.size(); ++i) {
    const EventAnswer& a = answers[i];
    if (i > 0) out += ',';
    out += "{\"id\":";
    dsl::AppendJsonString(out, a.id);
    out += ",\"outcome\":\"" + a.outcome + "\"";
    if (!a.detail.empty()) out += ",\"detail\":\"" + a.detail + "\"";
    if (!a.reason.empty()) {
      out += ",\"reason\":";
      dsl::AppendJsonString(out, a.reason);
    }
    if (a.position != 0) out += ",\"position\":" + std::to_string(a.position);
    out += '}';
  }
  out += "]}";
  return out;
}

}  // namespace takt::serve

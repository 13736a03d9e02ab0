// The plant workload generator: a line-for-line port of workloads/gen_plant.py, so that the same
// options and seed give the same bytes. The order of random draws is the contract; every
// `rnd()` below stands where the reference draws, and integer arithmetic follows Python's
// (floor division on non-negative values, int() truncating toward zero).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/harness/python_random.h"
#include "takt/workload.h"

namespace takt {
namespace {

constexpr int64_t kT0 = 1795852800000;  // 2026-11-28T00:00:00Z, ms
constexpr int64_t kMin = 60'000;
constexpr int64_t kHour = 3'600'000;
const char* const kSources[] = {"odoo", "mes", "scada", "qms"};
const char* const kAlarmCodes[] = {"OVERTEMP",    "VIBRATION", "PRESSURE_LOW", "SPINDLE_LOAD",
                                   "COOLANT_LOW", "DOOR_OPEN", "AIR_SUPPLY",   "SERVO_FAULT"};
const char* const kDefects[] = {"SCRATCH", "DIMENSION", "BURR", "POROSITY", "DISCOLOR"};
const char* const kCriticalDefects[] = {"CRACK", "CONTAMINATION", "MISSING_PART"};

struct PlantEvent {
  int64_t ts;
  int source;  // index into kSources
  const char* type;
  std::string key;
  std::string data;
};

std::string Padded(const char* prefix, int64_t n, int width) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s%0*lld", prefix, width, static_cast<long long>(n));
  return buf;
}

int SourceIndex(const char* name) {
  for (int i = 0; i < 4; ++i) {
    if (std::string(kSources[i]) == name) return i;
  }
  return 0;
}

class Generator {
 public:
  explicit Generator(const PlantWorkloadOptions& o) : o_(o), random_(o.seed) {}

  double rnd() { return random_.Next(); }
  // Uniform integer in [lo, hi].
  int64_t ri(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(rnd() * static_cast<double>(hi - lo + 1));
  }

  std::vector<PlantEvent> Simulate() {
    std::vector<PlantEvent> ev;
    std::vector<std::string> assets;
    for (int64_t i = 0; i < o_.assets; ++i) assets.push_back(Padded("A", i + 1, 2));
    using Free = std::pair<int64_t, int64_t>;  // (time the asset is free, asset)
    std::priority_queue<Free, std::vector<Free>, std::greater<>> free;
    for (int64_t i = 0; i < o_.assets; ++i) free.push({kT0 + ri(0, 30 * kMin), i});
    auto add = [&](int64_t t, const char* src, const char* type, const std::string& key,
                   std::string data) {
      ev.push_back(PlantEvent{t, SourceIndex(src), type, key, std::move(data)});
    };
    for (int64_t n = 1; n <= o_.orders; ++n) {
      auto [t, ai] = free.top();
      free.pop();
      const std::string& asset = assets[static_cast<size_t>(ai)];
      const std::string order = Padded("MO-", n, 6);
      const int64_t qty = ri(50, 500);
      add(t, "odoo", "order.released", order,
          "{\"order\":\"" + order + "\",\"product\":\"P-" + std::to_string(ri(100, 149)) +
              "\",\"qty\":" + std::to_string(qty) + ",\"asset\":\"" + asset + "\"}");
      t += ri(2 * kMin, 15 * kMin);
      const std::string order_only = "{\"order\":\"" + order + "\"}";
      if (rnd() < 0.01) {  // cancelled before start
        add(t, "odoo", "order.cancelled", order, order_only);
        free.push({t + ri(0, 10 * kMin), ai});
        continue;
      }
      add(t, "mes", "order.started", order, order_only);
      int64_t good = 0;
      int64_t scrap = 0;
      for (int phase = 0; phase < 3; ++phase) {  // first execution, then at most two reworks
        const int64_t produce = phase == 0 ? qty : ri(qty / 10, qty / 2);
        const auto p_scrap =
            static_cast<int64_t>(static_cast<double>(produce) * rnd() * 0.05);
        const int64_t p_good = produce - p_scrap;
        const int64_t dur = ri(30 * kMin, 180 * kMin);
        const int64_t nprog = ri(0, 3);
        const bool cancel = phase == 0 && rnd() < 0.01;
        for (int64_t k = 1; k <= nprog; ++k) {
          if (cancel && k > nprog / 2) break;
          const int64_t g = good + p_good * k / (nprog + 1);
          const int64_t s = scrap + p_scrap * k / (nprog + 1);
          add(t + dur * k / (nprog + 1), "mes", "order.progress", order,
              "{\"order\":\"" + order + "\",\"good\":" + std::to_string(g) +
                  ",\"scrap\":" + std::to_string(s) + "}");
        }
        if (cancel) {  // cancelled during execution
          t += dur / 2 + 1;
          add(t, "odoo", "order.cancelled", order, order_only);
          break;
        }
        t += dur;
        good += p_good;
        scrap += p_scrap;
        add(t, "mes", "order.finished", order,
            "{\"order\":\"" + order + "\",\"good\":" + std::to_string(good) +
                ",\"scrap\":" + std::to_string(scrap) + "}");
        const int64_t t_done = t;
        t += ri(5 * kMin, 30 * kMin);
        double u = rnd();
        const char* outcome = u < 0.02 ? "critical" : u < 0.10 ? "fail" : "pass";
        std::string result = "pass";
        std::string critical = "false";
        std::string defect = "null";
        if (outcome[0] == 'f') {
          result = "fail";
          defect = std::string("\"") + kDefects[ri(0, 4)] + "\"";
        } else if (outcome[0] == 'c') {
          result = "fail";
          critical = "true";
          defect = std::string("\"") + kCriticalDefects[ri(0, 2)] + "\"";
        }
        add(t, "qms", "inspection.result", order,
            "{\"order\":\"" + order + "\",\"lot\":\"" + Padded("L", n, 6) + "-" +
                std::to_string(phase + 1) + "\",\"result\":\"" + result +
                "\",\"critical\":" + critical + ",\"defect\":" + defect + "}");
        t += ri(5 * kMin, 60 * kMin);
        // disposition probabilities (release, rework); the rest is scrap
        const double p_rel = outcome[0] == 'p' ? 0.97 : outcome[0] == 'f' ? 0.15 : 0.10;
        const double p_rew = outcome[0] == 'p' ? 0.02 : outcome[0] == 'f' ? 0.60 : 0.30;
        u = rnd();
        std::string decision = u < p_rel ? "release" : u < p_rel + p_rew ? "rework" : "scrap";
        if (decision == "rework" && phase == 2) decision = "scrap";
        add(t, "qms", "disposition", order,
            "{\"order\":\"" + order + "\",\"decision\":\"" + decision + "\"}");
        if (decision != "rework") {
          t = t_done;
          break;
        }
        t += ri(1 * kMin, 10 * kMin);
      }
      free.push({t + ri(0, 10 * kMin), ai});
    }

    int64_t t_end = kT0;
    if (!free.empty()) {
      t_end = INT64_MIN;
      for (auto copy = free; !copy.empty(); copy.pop()) t_end = std::max(t_end, copy.top().first);
    }
    const double rate = o_.alarm_rate / static_cast<double>(kHour);  // alarms per ms
    const double single = rate * 0.85;  // arrivals per ms of single alarms
    const double arrivals = single + rate * 0.15 / 4.5;  // plus bursts, 4.5 alarms each
    const int ncodes = 8;
    for (const std::string& asset : assets) {
      int64_t t = kT0;
      while (rate > 0) {
        t += static_cast<int64_t>(-std::log(1.0 - rnd()) / arrivals) + 1;
        if (t > t_end) break;
        std::vector<int64_t> times;
        int code = -1;
        if (rnd() * arrivals < single) {
          times.push_back(t);
        } else {
          const int64_t span = ri(1 * kMin, 8 * kMin);
          const int64_t size = ri(3, 6);
          for (int64_t i = 0; i < size; ++i) times.push_back(t + ri(0, span));
          std::sort(times.begin(), times.end());
          code = static_cast<int>(rnd() * ncodes);
        }
        for (int64_t ta : times) {
          const double u = rnd();
          const int sev = u < 0.62 ? 1 : u < 0.98 ? 2 : u < 0.995 ? 3 : 4;
          const int c = code >= 0 ? code : static_cast<int>(rnd() * ncodes);
          add(ta, "scada", "alarm", asset,
              "{\"asset\":\"" + asset + "\",\"code\":\"" + kAlarmCodes[c] +
                  "\",\"severity\":" + std::to_string(sev) + "}");
        }
      }
      t = kT0;
      while (true) {
        t += ri(30 * kMin, 240 * kMin);
        if (t > t_end) break;
        add(t, "odoo", "maintenance.done", asset, "{\"asset\":\"" + asset + "\"}");
      }
    }
    std::stable_sort(ev.begin(), ev.end(),
                     [](const PlantEvent& a, const PlantEvent& b) { return a.ts < b.ts; });
    return ev;
  }

  // Assigns ids and seqs in emission order, injects faults, and hands lines on in arrival order.
  uint64_t Deliver(const std::vector<PlantEvent>& events,
                   const std::function<void(std::string_view)>& emit) {
    uint64_t written = 0;
    int64_t ids[4] = {0, 0, 0, 0};
    std::unordered_map<std::string, int64_t> seqs;
    struct Held {
      int64_t remaining;
      std::string line;
    };
    // key -> held-back lines; `order` keeps Python's dict insertion order for the final flush.
    struct Delayed {
      uint64_t order;
      std::vector<Held> held;
    };
    std::unordered_map<std::string, Delayed> delayed;
    uint64_t delayed_counter = 0;
    struct Dup {
      int64_t due;
      int64_t tiebreak;
      std::string line;
      bool operator>(const Dup& o) const {
        return due != o.due ? due > o.due : tiebreak > o.tiebreak;
      }
    };
    std::priority_queue<Dup, std::vector<Dup>, std::greater<>> dups;
    auto out_len = [&] { return static_cast<int64_t>(written); };
    auto append = [&](const std::string& line) {
      emit(line);
      ++written;
    };
    auto maybe_dup = [&](const std::string& line) {
      if (rnd() < o_.duplicate_rate) {
        dups.push(Dup{out_len() + static_cast<int64_t>(rnd() * 21), out_len(), line});
      }
    };
    auto put = [&](const std::string& line) {
      append(line);
      maybe_dup(line);
    };

    for (const PlantEvent& e : events) {
      int senders[2] = {e.source, -1};
      if (rnd() < o_.foreign_rate) {
        int others[3];
        int n = 0;
        for (int s = 0; s < 4; ++s) {
          if (s != e.source) others[n++] = s;
        }
        senders[1] = others[static_cast<int>(rnd() * 3)];
      }
      for (int s : senders) {
        if (s < 0) break;
        const int64_t n = ++ids[s];
        const int64_t q = ++seqs[std::string(kSources[s]) + e.key];
        std::string line = "{\"id\":\"" + Padded((std::string(kSources[s]) + "-").c_str(), n, 6) +
                           "\",\"source\":\"" + kSources[s] + "\",\"type\":\"" + e.type +
                           "\",\"key\":\"" + e.key + "\",\"seq\":" + std::to_string(q) +
                           ",\"ts\":" + std::to_string(e.ts) + ",\"data\":" + e.data + "}";
        if (rnd() < o_.delay_rate) {
          auto [it, inserted] = delayed.try_emplace(e.key);
          if (inserted) it->second.order = delayed_counter++;
          it->second.held.push_back(Held{1 + static_cast<int64_t>(rnd() * 3), std::move(line)});
          continue;
        }
        append(line);
        maybe_dup(line);
        auto it = delayed.find(e.key);
        if (it != delayed.end()) {  // release held-back events whose countdown reached 0
          std::vector<Held>& held = it->second.held;
          for (Held& h : held) --h.remaining;
          for (const Held& h : held) {
            if (h.remaining == 0) put(h.line);
          }
          held.erase(std::remove_if(held.begin(), held.end(),
                                    [](const Held& h) { return h.remaining <= 0; }),
                     held.end());
          if (held.empty()) delayed.erase(it);
        }
        while (!dups.empty() && dups.top().due <= out_len()) {
          append(dups.top().line);
          dups.pop();
        }
      }
    }
    std::vector<Delayed*> rest;
    for (auto& [key, d] : delayed) rest.push_back(&d);
    std::sort(rest.begin(), rest.end(),
              [](const Delayed* a, const Delayed* b) { return a->order < b->order; });
    for (const Delayed* d : rest) {
      for (const Held& h : d->held) put(h.line);
    }
    while (!dups.empty()) {
      append(dups.top().line);
      dups.pop();
    }
    return written;
  }

 private:
  const PlantWorkloadOptions& o_;
  PythonRandom random_;
};

}  // namespace

Status ValidatePlantWorkload(const PlantWorkloadOptions& o) {
  if (o.orders < 0) return Status::InvalidArgument("--orders must be >= 0");
  if (o.assets < 1) return Status::InvalidArgument("--assets must be >= 1");
  if (!(o.alarm_rate >= 0)) return Status::InvalidArgument("--alarm-rate must be >= 0");
  const std::pair<const char*, double> rates[] = {{"--duplicate-rate", o.duplicate_rate},
                                                  {"--delay-rate", o.delay_rate},
                                                  {"--foreign-rate", o.foreign_rate}};
  for (const auto& [name, rate] : rates) {
    if (!(rate >= 0.0 && rate <= 1.0)) {
      return Status::InvalidArgument(std::string(name) + " must be within [0, 1]");
    }
  }
  return Status();
}

Result<uint64_t> GeneratePlantWorkload(const PlantWorkloadOptions& options,
                                       const std::function<void(std::string_view)>& line) {
  TAKT_RETURN_IF_ERROR(ValidatePlantWorkload(options));
  Generator generator(options);
  const std::vector<PlantEvent> events = generator.Simulate();
  return generator.Deliver(events, line);
}

}  // namespace takt

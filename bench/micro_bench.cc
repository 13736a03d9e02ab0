// Micro-benchmarks, one per stage of an event's path: compiling definitions, decoding and
// validating an event, evaluating a guard, and Submit() end to end on the plant workflow.
//   build/bench/takt_micro_bench [--benchmark_filter=Decode]
#include <benchmark/benchmark.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "dsl/load.h"
#include "engine/event/decode.h"
#include "engine/rules/rule_set.h"
#include "engine/harness/input_fingerprint.h"
#include "engine/workflow/evaluate.h"
#include "engine/workflow/runner.h"
#include "takt/engine.h"
#include "takt/workload.h"

namespace takt {
namespace {

const std::string kWorkflows = std::string(TAKT_SOURCE_DIR) + "/workflows";

std::unique_ptr<dsl::Definitions> LoadPlant() {
  DefinitionOptions options;
  options.paths = {kWorkflows};
  return dsl::LoadDefinitions(options);
}

std::vector<std::string> PlantLines(int64_t orders) {
  PlantWorkloadOptions o;
  o.orders = orders;
  std::vector<std::string> lines;
  (void)GeneratePlantWorkload(o, [&](std::string_view line) { lines.emplace_back(line); });
  return lines;
}

void BM_CompileDefinitions(benchmark::State& state) {
  for (auto _ : state) {
    auto defs = LoadPlant();
    benchmark::DoNotOptimize(defs->catalog.workflows.size());
  }
}
BENCHMARK(BM_CompileDefinitions)->Unit(benchmark::kMicrosecond);

// One plant event decoded: by the plain reader, as the engine decodes it (BM_DecodeEvent), and
// by simdjson alone, as the engine decodes an event that is not plain (BM_DecodeEventGeneral).
void DecodeEvents(benchmark::State& state, EventDecoder::Paths paths) {
  auto defs = LoadPlant();
  EventDecoder decoder(defs->catalog, paths);
  const std::vector<std::string> lines = PlantLines(200);
  Event event;
  std::string error;
  size_t i = 0;
  size_t bytes = 0;
  for (auto _ : state) {
    const std::string& line = lines[i++ % lines.size()];
    bytes += line.size();
    benchmark::DoNotOptimize(decoder.Decode(line, event, error));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
void BM_DecodeEvent(benchmark::State& state) {
  DecodeEvents(state, EventDecoder::Paths::kPlainFirst);
}
BENCHMARK(BM_DecodeEvent);
void BM_DecodeEventGeneral(benchmark::State& state) {
  DecodeEvents(state, EventDecoder::Paths::kGeneralOnly);
}
BENCHMARK(BM_DecodeEventGeneral);

// What a durable simulation adds per line read so that a resume can tell its input by content
// (engine/sim/input_fingerprint.h): the line and its newline into the prefix's SHA-256, and the
// line's check value.
void BM_InputFingerprint(benchmark::State& state) {
  const std::vector<std::string> lines = PlantLines(200);
  sim::PrefixDigest prefix;
  std::string checks;
  size_t i = 0;
  size_t bytes = 0;
  for (auto _ : state) {
    const std::string& line = lines[i++ % lines.size()];
    bytes += line.size() + 1;
    prefix.UpdateLine(line);
    sim::AppendLineCheck(checks, line);
    if (checks.size() >= (1u << 20)) checks.clear();
  }
  benchmark::DoNotOptimize(prefix.Hex());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_InputFingerprint);

void BM_EvaluateGuard(benchmark::State& state) {
  // `event.decision == "release"`, the guard every disposition evaluates.
  auto defs = LoadPlant();
  const dsl::WorkflowDef& wf = defs->catalog.workflows.at(0);
  const dsl::StateDef& s = wf.states[static_cast<size_t>(wf.StateIndex("disposition"))];
  const dsl::Expr& guard = s.on_event.at(defs->catalog.EventId("disposition")).at(0).guard;
  std::vector<dsl::Value> fields = {dsl::Value::String("MO-1"), dsl::Value::String("rework")};
  std::vector<dsl::Value> vars;
  const dsl::Value key = dsl::Value::String("MO-1");
  const EvalContext ctx{&key, &vars, &fields};
  for (auto _ : state) benchmark::DoNotOptimize(EvaluateBool(guard, ctx));
}
BENCHMARK(BM_EvaluateGuard);

// One transition of an instance among range(0) others: the instance found by key, the first
// transition whose guard holds, its actions (`order.progress` in `executing` sets good and
// scrap from the event). The event is decoded once, outside the loop.
void BM_Transition(benchmark::State& state) {
  auto defs = LoadPlant();
  EventDecoder decoder(defs->catalog);
  WorkflowRunner runner(defs->catalog.workflows.at(0));
  Event event;
  std::string error, reason;
  std::vector<Command> commands;
  WorkflowEffects effects;
  effects.Start(1, commands);
  auto apply = [&](const std::string& json) {
    if (!decoder.Decode(json, event, error) || !runner.Apply(event, effects, reason)) std::abort();
  };
  const int64_t instances = state.range(0);
  for (int64_t i = 0; i < instances; ++i) {
    const std::string key = "MO-" + std::to_string(i);
    apply(R"({"id":"r)" + key + R"(","source":"odoo","type":"order.released","key":")" + key +
          R"(","seq":1,"ts":1,"data":{"asset":"A01"}})");
    apply(R"({"id":"s)" + key + R"(","source":"mes","type":"order.started","key":")" + key +
          R"(","seq":1,"ts":2,"data":{}})");
  }
  if (!decoder.Decode(R"({"id":"p","source":"mes","type":"order.progress","key":"MO-0","seq":2,)"
                      R"("ts":3,"data":{"good":5,"scrap":1}})",
                      event, error)) {
    std::abort();
  }
  for (auto _ : state) {
    commands.clear();
    effects.Start(1, commands);
    benchmark::DoNotOptimize(runner.Apply(event, effects, reason));
  }
}
BENCHMARK(BM_Transition)->Arg(1)->Arg(100'000);

// One evaluation of a shipped rule with its state, on the events of a generated stream that it
// takes, in the stream's order: R1 (alarms and maintenance.done: the window of the asset's alarms,
// most alarms skipped while the asset's request is open) and R2 (alarms: its `when` turns away
// most before any Lua runs).
void BM_RuleEvaluation(benchmark::State& state) {
  auto defs = LoadPlant();
  Result<std::unique_ptr<rules::RuleSet>> set =
      rules::RuleSet::Load(std::string(TAKT_SOURCE_DIR) + "/rules", defs->catalog, {});
  if (!set.ok()) {
    state.SkipWithError(set.status().message().c_str());
    return;
  }
  const rules::LoadedRule& rule = *set.value()->rules().at(static_cast<size_t>(state.range(0)));
  struct NoInstances final : rules::InstanceLookup {
    Result<std::optional<rules::InstanceRef>> Find(std::string_view, std::string_view) override {
      return std::optional<rules::InstanceRef>();
    }
    Result<std::optional<rules::InstanceRef>> Current(std::string_view, std::string_view,
                                                      const dsl::Value&) override {
      return std::optional<rules::InstanceRef>();
    }
  } lookup;
  // Decoded events whose strings the events own, so that decoding is not timed.
  struct OwnedEvent {
    std::string id, source, type, key;
    Event event;
  };
  EventDecoder decoder(defs->catalog);
  std::vector<std::unique_ptr<OwnedEvent>> alarms;
  std::string error;
  for (const std::string& line : PlantLines(2000)) {
    auto owned = std::make_unique<OwnedEvent>();
    if (!decoder.Decode(line, owned->event, error)) continue;
    if (std::find(rule.on.begin(), rule.on.end(), owned->event.type_id) == rule.on.end()) continue;
    Event& e = owned->event;
    owned->id = e.id, owned->source = e.source, owned->type = e.type, owned->key = e.key;
    e.id = owned->id, e.source = owned->source, e.type = owned->type, e.key = owned->key;
    alarms.push_back(std::move(owned));
  }
  // Each pass over the alarms moves on in time, so that windows stay as long as in a real
  // stream instead of collecting every pass.
  const int64_t span = alarms.back()->event.ts - alarms.front()->event.ts + 86'400'000;
  std::vector<rules::RuleDecision> decisions;
  size_t i = 0;
  int64_t shift = 0;
  for (auto _ : state) {
    Event& event = alarms[i]->event;
    event.ts += shift;
    decisions.clear();
    benchmark::DoNotOptimize(set.value()->Evaluate(rule, event, lookup, decisions));
    event.ts -= shift;
    if (++i == alarms.size()) {
      i = 0;
      shift += span;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetLabel(rule.name);
}
BENCHMARK(BM_RuleEvaluation)->Arg(0)->Arg(1);

// Submit() over a generated plant stream: decode, dedup, ownership, transition, commands.
void BM_SubmitPlantEvent(benchmark::State& state) {
  const std::vector<std::string> lines = PlantLines(state.range(0));
  EngineOptions options;
  options.workflow_paths = {kWorkflows};
  std::unique_ptr<Engine> engine;
  SubmitResult result;
  size_t i = lines.size();
  for (auto _ : state) {
    if (i == lines.size()) {  // start the stream again on a fresh engine
      state.PauseTiming();
      engine = std::move(Engine::Open(options)).value();
      i = 0;
      state.ResumeTiming();
    }
    benchmark::DoNotOptimize(engine->Submit(lines[i++], result));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_SubmitPlantEvent)->Arg(1000)->Arg(10000);

// A database file for one durable benchmark under /tmp, removed with its WAL before each
// fresh engine and at the end.
class ScratchDatabase {
 public:
  explicit ScratchDatabase(const std::string& name)
      : path_("/tmp/takt-bench-" + name + "-" + std::to_string(::getpid()) + ".db") {}
  ~ScratchDatabase() { Remove(); }
  ScratchDatabase(const ScratchDatabase&) = delete;
  ScratchDatabase& operator=(const ScratchDatabase&) = delete;

  // An engine on the shipped workflows (no rules) with `durability`, on an empty database.
  std::unique_ptr<Engine> OpenFresh(Durability durability) {
    Remove();
    EngineOptions options;
    options.workflow_paths = {kWorkflows};
    options.durability = durability;
    options.store_path = path_;
    return std::move(Engine::Open(options)).value();
  }

 private:
  void Remove() {
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path_ + suffix).c_str());
  }
  std::string path_;
};

Durability DurabilityArg(int64_t normal) { return normal == 0 ? Durability::kFull : Durability::kNormal; }

double MillisecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

// Sets the counters p50_ms and p99_ms of `latencies_ms` (0 when there are none), and with
// `tails` also p999_ms and max_ms.
void ReportLatencies(benchmark::State& state, std::vector<double>& latencies_ms, bool tails) {
  std::sort(latencies_ms.begin(), latencies_ms.end());
  auto percentile = [&](double p) {
    if (latencies_ms.empty()) return 0.0;
    return latencies_ms[static_cast<size_t>(p * static_cast<double>(latencies_ms.size() - 1))];
  };
  state.counters["p50_ms"] = percentile(0.50);
  state.counters["p99_ms"] = percentile(0.99);
  if (!tails) return;
  state.counters["p999_ms"] = percentile(0.999);
  state.counters["max_ms"] = percentile(1.0);
}

// Events and commits over a benchmark's iterations, each on a fresh engine.
struct Throughput {
  uint64_t events = 0, commits = 0;

  // Counts one iteration's `n` events and the commits of `engine`, then closes it; untimed.
  void EndIteration(benchmark::State& state, std::unique_ptr<Engine>& engine, size_t n) {
    state.PauseTiming();
    events += n;
    commits += engine->stats().batches;
    engine.reset();
    state.ResumeTiming();
  }
  // Sets events per second and the counter per_commit (events per commit).
  void Report(benchmark::State& state) const {
    state.SetItemsProcessed(static_cast<int64_t>(events));
    state.counters["per_commit"] = static_cast<double>(events) / static_cast<double>(commits);
  }
};

// The first 20,000 events of the 2,000-order stream: two seconds at 10,000 events/s.
std::vector<std::string> PacedLines() {
  std::vector<std::string> lines = PlantLines(2000);
  lines.resize(20'000);
  return lines;
}

// When event `i` arrives in a stream offered at `rate` events/s from `start`.
std::chrono::steady_clock::time_point Due(std::chrono::steady_clock::time_point start, size_t i,
                                          double rate) {
  return start + std::chrono::nanoseconds(static_cast<int64_t>(1e9 * static_cast<double>(i) / rate));
}

// SubmitBatch() on a database: one iteration is one batch of range(0) events, committed with
// durability range(1) (0 FULL, 1 NORMAL). Counters: events per second, and the batch's
// latency from submit to commit at the median and the 99th percentile, in milliseconds.
void BM_DurableBatch(benchmark::State& state) {
  const size_t batch = static_cast<size_t>(state.range(0));
  const std::vector<std::string> lines = PlantLines(2000);
  ScratchDatabase db("batch");
  std::unique_ptr<Engine> engine;
  std::vector<std::string_view> events;
  std::vector<SubmitResult> results;
  std::vector<double> latencies_ms;
  size_t i = lines.size();
  for (auto _ : state) {
    if (i + batch > lines.size()) {  // start the stream again on a fresh database
      state.PauseTiming();
      engine.reset();
      engine = db.OpenFresh(DurabilityArg(state.range(1)));
      i = 0;
      state.ResumeTiming();
    }
    events.assign(lines.begin() + static_cast<std::ptrdiff_t>(i),
                  lines.begin() + static_cast<std::ptrdiff_t>(i + batch));
    i += batch;
    const auto start = std::chrono::steady_clock::now();
    if (!engine->SubmitBatch(events, results).ok()) state.SkipWithError("commit failed");
    latencies_ms.push_back(MillisecondsSince(start));
  }
  engine.reset();
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(batch));
  ReportLatencies(state, latencies_ms, /*tails=*/false);
}
BENCHMARK(BM_DurableBatch)
    ->ArgNames({"batch", "normal"})
    ->Args({1, 0})->Args({64, 0})->Args({1024, 0})
    ->Args({1, 1})->Args({64, 1})->Args({1024, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()  // waiting for the disk is the point: rates from wall time, not CPU time
    ->MinTime(2.0);

// Submit() of one event at a time from `threads` threads on one engine with a `durability`
// store, each key's events on one thread in stream order; one iteration submits all of
// `lines` on a fresh database. With `rate` 0 each thread submits as fast as its calls return,
// and a latency runs from call to return; otherwise event i is offered at i / rate seconds
// from the start and its latency runs from then, so waiting behind a slow commit counts.
void RunThreadedSubmits(benchmark::State& state, const std::vector<std::string>& lines,
                        size_t threads, Durability durability, double rate, bool tails) {
  std::vector<std::vector<size_t>> share(threads);
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string_view line = lines[i];
    const size_t at = line.find("\"key\":\"") + 7;
    const std::string_view key = line.substr(at, line.find('"', at) - at);
    share[std::hash<std::string_view>{}(key) % threads].push_back(i);  // a key stays on one thread
  }
  ScratchDatabase db("threads");
  std::vector<double> latencies_ms;
  std::mutex latencies_mu;
  Throughput throughput;
  for (auto _ : state) {
    state.PauseTiming();
    std::unique_ptr<Engine> engine = db.OpenFresh(durability);
    state.ResumeTiming();
    const auto start = std::chrono::steady_clock::now() + std::chrono::milliseconds(10);
    std::vector<std::thread> workers;
    for (size_t t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        std::vector<double> mine;
        SubmitResult result;
        for (size_t i : share[t]) {
          auto from = std::chrono::steady_clock::now();
          if (rate > 0) {
            from = Due(start, i, rate);
            std::this_thread::sleep_until(from);
          }
          if (!engine->Submit(lines[i], result).ok()) std::abort();
          mine.push_back(MillisecondsSince(from));
        }
        std::lock_guard<std::mutex> lock(latencies_mu);
        latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
      });
    }
    for (std::thread& w : workers) w.join();
    throughput.EndIteration(state, engine, lines.size());
  }
  throughput.Report(state);
  ReportLatencies(state, latencies_ms, tails);
}

// Submit() of one event at a time from range(0) threads on one engine with a FULL store: the
// commit queue gathers what arrives during a commit into the next one (group commit). One
// iteration is the 2,000-order stream split by key across the threads. Counters: events per
// second, each Submit()'s latency from call to return (p50, p99, ms), and events per commit.
void BM_ConcurrentSubmit(benchmark::State& state) {
  RunThreadedSubmits(state, PlantLines(2000), static_cast<size_t>(state.range(0)),
                     Durability::kFull, /*rate=*/0, /*tails=*/false);
}
BENCHMARK(BM_ConcurrentSubmit)
    ->ArgName("threads")
    ->Arg(1)->Arg(2)->Arg(4)->Arg(8)->Arg(16)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(2);

// Latency at a steady rate: 10,000 events/s offered by 32 threads (each event on the thread of
// its key, at its scheduled instant), Submit() one event at a time, durability range(0) (0
// FULL, 1 NORMAL). Latency runs from the event's scheduled instant to the return of its
// Submit(). One iteration is 20,000 events (2 seconds).
void BM_PacedSubmitLatency(benchmark::State& state) {
  RunThreadedSubmits(state, PacedLines(), 32, DurabilityArg(state.range(0)), /*rate=*/10'000,
                     /*tails=*/true);
}
BENCHMARK(BM_PacedSubmitLatency)
    ->ArgName("normal")
    ->Arg(0)->Arg(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(3);

// What one paced batch is handed to: the engine's SubmitBatch(), or the disk alone.
using CommitBatch = std::function<void(const std::vector<std::string_view>&)>;

CommitBatch SubmitTo(Engine& engine) {
  return [&engine, results = std::vector<SubmitResult>()](
             const std::vector<std::string_view>& batch) mutable {
    if (!engine.SubmitBatch(batch, results).ok()) std::abort();
  };
}

// One ingest thread's part of a paced stream: the events `mine` (indexes into `lines`, in
// order), gathered into batches that close `window` after their first event arrived (as `takt
// simulate --batch-latency-ms` does), each handed to `commit`. A batch gathers too what arrived
// while the one before was committed, so with a window of 0 each batch is what arrived during
// the last commit. Appends each event's latency, from its arrival to the return of the commit
// that holds it, to `latencies_ms`.
void IngestPaced(const CommitBatch& commit, const std::vector<std::string>& lines,
                 const std::vector<size_t>& mine, std::chrono::steady_clock::time_point start,
                 std::chrono::microseconds window, std::vector<double>& latencies_ms) {
  constexpr double kRate = 10'000;
  std::vector<std::string_view> batch;
  for (size_t j = 0; j < mine.size();) {
    std::this_thread::sleep_until(Due(start, mine[j], kRate));  // the batch's first event arrives
    const auto close = std::max(Due(start, mine[j], kRate) + window, std::chrono::steady_clock::now());
    const size_t first = j;
    batch.clear();
    while (j < mine.size() && Due(start, mine[j], kRate) <= close) batch.push_back(lines[mine[j++]]);
    std::this_thread::sleep_until(close);
    commit(batch);
    const auto done = std::chrono::steady_clock::now();
    for (size_t k = first; k < j; ++k) {
      latencies_ms.push_back(
          std::chrono::duration<double, std::milli>(done - Due(start, mine[k], kRate)).count());
    }
  }
}

std::vector<size_t> AllOf(const std::vector<std::string>& lines) {
  std::vector<size_t> all(lines.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  return all;
}

// The same steady 10,000 events/s, gathered by one ingest thread into batches that close
// range(0) microseconds after their first event arrived, each committed on a FULL store.
void BM_PacedBatchLatency(benchmark::State& state) {
  const std::vector<std::string> lines = PacedLines();
  const std::vector<size_t> all = AllOf(lines);
  ScratchDatabase db("paced-batch");
  std::vector<double> latencies_ms;
  Throughput throughput;
  for (auto _ : state) {
    state.PauseTiming();
    std::unique_ptr<Engine> engine = db.OpenFresh(Durability::kFull);
    state.ResumeTiming();
    IngestPaced(SubmitTo(*engine), lines, all, std::chrono::steady_clock::now(),
                std::chrono::microseconds(state.range(0)), latencies_ms);
    throughput.EndIteration(state, engine, lines.size());
  }
  throughput.Report(state);
  ReportLatencies(state, latencies_ms, /*tails=*/true);
}
BENCHMARK(BM_PacedBatchLatency)
    ->ArgName("window_us")
    ->Arg(0)->Arg(250)->Arg(500)->Arg(1000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(3);

// The floor under BM_PacedBatchLatency on this disk: the same pacing and batching, but each
// commit only appends range(1) KiB to a file and syncs it with fdatasync(), as a FULL commit
// appends its WAL frames and syncs them (about 12 frames of 4 KiB a commit at this pace). The
// file starts over from its beginning at 40 MB, as the WAL does after a checkpoint. No engine
// can do better than this on the same disk; the gap to BM_PacedBatchLatency is the engine's.
void BM_PacedDiskFloor(benchmark::State& state) {
  const std::vector<std::string> lines = PacedLines();
  const std::vector<size_t> all = AllOf(lines);
  const std::string path = "/tmp/takt-bench-disk-floor-" + std::to_string(::getpid());
  const std::vector<char> frames(static_cast<size_t>(state.range(1)) * 1024, 'f');
  constexpr off_t kWrapAt = 40 << 20;
  std::vector<double> latencies_ms;
  for (auto _ : state) {
    state.PauseTiming();
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
      state.SkipWithError("cannot create the file");
      break;
    }
    off_t at = 0;
    state.ResumeTiming();
    const CommitBatch append_and_sync = [&](const std::vector<std::string_view>&) {
      if (at >= kWrapAt) at = 0;
      if (::pwrite(fd, frames.data(), frames.size(), at) != static_cast<ssize_t>(frames.size()) ||
          ::fdatasync(fd) != 0) {
        std::abort();
      }
      at += static_cast<off_t>(frames.size());
    };
    IngestPaced(append_and_sync, lines, all, std::chrono::steady_clock::now(),
                std::chrono::microseconds(state.range(0)), latencies_ms);
    state.PauseTiming();
    ::close(fd);
    state.ResumeTiming();
  }
  std::remove(path.c_str());
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(lines.size()));
  ReportLatencies(state, latencies_ms, /*tails=*/true);
}
BENCHMARK(BM_PacedDiskFloor)
    ->ArgNames({"window_us", "kib"})
    ->Args({0, 48})->Args({250, 48})->Args({0, 12})->Args({0, 192})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(3);

// The same stream split by key over range(1) ingest threads, each gathering its own batches as
// above: events of one key stay on one thread, so in order, and while one thread's commit
// syncs, another's is applied (the commit queue's pipelining).
void BM_PacedPartitionedBatchLatency(benchmark::State& state) {
  const auto threads = static_cast<size_t>(state.range(1));
  const std::vector<std::string> lines = PacedLines();
  std::vector<std::vector<size_t>> share(threads);  // per thread: its events' indexes, in order
  for (size_t i = 0; i < lines.size(); ++i) {
    const size_t key_at = lines[i].find("\"key\":\"") + 7;
    const std::string_view key(lines[i].data() + key_at, lines[i].find('"', key_at) - key_at);
    share[std::hash<std::string_view>()(key) % threads].push_back(i);
  }
  ScratchDatabase db("paced-partitioned");
  std::vector<std::vector<double>> latencies_ms(threads);
  Throughput throughput;
  for (auto _ : state) {
    state.PauseTiming();
    std::unique_ptr<Engine> engine = db.OpenFresh(Durability::kFull);
    state.ResumeTiming();
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> running;
    for (size_t t = 0; t < threads; ++t) {
      running.emplace_back([&, t] {
        IngestPaced(SubmitTo(*engine), lines, share[t], start,
                    std::chrono::microseconds(state.range(0)), latencies_ms[t]);
      });
    }
    for (std::thread& t : running) t.join();
    throughput.EndIteration(state, engine, lines.size());
  }
  throughput.Report(state);
  std::vector<double> all;
  for (const std::vector<double>& own : latencies_ms) all.insert(all.end(), own.begin(), own.end());
  ReportLatencies(state, all, /*tails=*/true);
}
BENCHMARK(BM_PacedPartitionedBatchLatency)
    ->ArgNames({"window_us", "threads"})
    ->Args({250, 2})->Args({500, 2})->Args({250, 4})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(3);

}  // namespace
}  // namespace takt

BENCHMARK_MAIN();

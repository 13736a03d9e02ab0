// Micro-benchmarks, one per stage of an event's path: compiling definitions, decoding and
// validating an event, evaluating a guard, and Submit() end to end on the plant workflow.
//   build/bench/takt_micro_bench [--benchmark_filter=Decode]
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "dsl/load.h"
#include "engine/event/decode.h"
#include "engine/workflow/evaluate.h"
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

void BM_DecodeEvent(benchmark::State& state) {
  auto defs = LoadPlant();
  EventDecoder decoder(defs->catalog);
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
BENCHMARK(BM_DecodeEvent);

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

}  // namespace
}  // namespace takt

BENCHMARK_MAIN();

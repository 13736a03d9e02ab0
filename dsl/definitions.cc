// The public face of the dsl layer (include/takt/definitions.h): checking and drawing.
#include "takt/definitions.h"

#include "dsl/load.h"

namespace takt {
namespace {

struct Edge {
  std::string from;  // empty: the start
  std::string to;
  std::string label;
  bool stays = false;  // no target: the instance stays where it is
};

std::vector<Edge> Edges(const dsl::Catalog& catalog, const dsl::WorkflowDef& wf) {
  std::vector<Edge> edges;
  if (wf.start_state >= 0 && wf.start_event >= 0) {
    edges.push_back({"", wf.states[static_cast<size_t>(wf.start_state)].name,
                     catalog.events[static_cast<size_t>(wf.start_event)].type, false});
  }
  for (const dsl::StateDef& s : wf.states) {
    auto add = [&](const std::vector<dsl::Transition>& ts) {
      for (const dsl::Transition& t : ts) {
        const bool stays = t.target < 0;
        edges.push_back({s.name, stays ? s.name : wf.states[static_cast<size_t>(t.target)].name,
                         t.label, stays});
      }
    };
    // Transitions in the order they were written, which is the order they are tried in.
    std::vector<const std::vector<dsl::Transition>*> lists;
    for (const auto& [event, ts] : s.on_event) lists.push_back(&ts);
    for (const auto& [signal, ts] : s.on_signal) lists.push_back(&ts);
    for (const auto& [after, ts] : s.on_timer) lists.push_back(&ts);
    std::stable_sort(lists.begin(), lists.end(), [](const auto* a, const auto* b) {
      return std::make_pair(a->front().where.line, a->front().where.column) <
             std::make_pair(b->front().where.line, b->front().where.column);
    });
    for (const auto* ts : lists) add(*ts);
  }
  return edges;
}

std::string DotQuote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

void Dot(const dsl::Catalog& catalog, const dsl::WorkflowDef& wf, std::string& out) {
  out += "digraph " + DotQuote(wf.name) + " {\n";
  out += "  rankdir=LR;\n";
  out += "  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n";
  out += "  edge [fontname=\"Helvetica\", fontsize=10];\n";
  out += "  \"(start)\" [shape=point, width=0.15];\n";
  for (const dsl::StateDef& s : wf.states) {
    out += "  " + DotQuote(s.name) + (s.final ? " [peripheries=2];\n" : ";\n");
  }
  for (const Edge& e : Edges(catalog, wf)) {
    out += "  " + DotQuote(e.from.empty() ? "(start)" : e.from) + " -> " + DotQuote(e.to) +
           " [label=" + DotQuote(e.label) + (e.stays ? ", style=dashed" : "") + "];\n";
  }
  out += "}\n";
}

std::string MermaidLabel(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '"') out += "#quot;";
    else if (c == ':') out += "#58;";
    else out += c;
  }
  return out;
}

void Mermaid(const dsl::Catalog& catalog, const dsl::WorkflowDef& wf, std::string& out) {
  out += "stateDiagram-v2\n";
  out += "  %% workflow " + wf.name + "\n";
  for (const Edge& e : Edges(catalog, wf)) {
    out += "  " + (e.from.empty() ? std::string("[*]") : e.from) + " --> " + e.to + " : " +
           MermaidLabel(e.label) + "\n";
  }
  for (const dsl::StateDef& s : wf.states) {
    if (s.final) out += "  " + s.name + " --> [*]\n";
  }
}

}  // namespace

CheckReport CheckDefinitions(const DefinitionOptions& options) {
  std::unique_ptr<dsl::Definitions> defs = dsl::LoadDefinitions(options);
  CheckReport report;
  report.diagnostics = defs->diagnostics.Sorted();
  report.errors = defs->diagnostics.errors();
  report.warnings = defs->diagnostics.warnings();
  report.files = static_cast<uint32_t>(defs->files.size());
  report.workflows = static_cast<uint32_t>(defs->catalog.workflows.size());
  return report;
}

Result<std::string> RenderWorkflowGraph(const DefinitionOptions& options, GraphFormat format,
                                        const std::string& workflow) {
  std::unique_ptr<dsl::Definitions> defs = dsl::LoadDefinitions(options);
  if (defs->diagnostics.errors() != 0) {
    return Status::ParseError(defs->diagnostics.FormatAll());
  }
  std::string out;
  for (const dsl::WorkflowDef& wf : defs->catalog.workflows) {
    if (!workflow.empty() && wf.name != workflow) continue;
    if (!out.empty()) out += "\n";
    if (format == GraphFormat::kDot) {
      Dot(defs->catalog, wf, out);
    } else {
      Mermaid(defs->catalog, wf, out);
    }
  }
  if (out.empty()) {
    return Status::NotFound(workflow.empty() ? "no workflow in the given files"
                                             : "no workflow named '" + workflow + "'");
  }
  return out;
}

}  // namespace takt

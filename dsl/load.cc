// File discovery and import resolution. An import is looked up beside the importing file, then
// in the stdlib directory, then in the stdlib built into the binary; a file reached twice is
// loaded once, and a file that imports itself through others is an import cycle.
#include "dsl/load.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "dsl/compile.h"
#include "dsl/embedded_stdlib.h"
#include "dsl/parse.h"

namespace takt::dsl {
namespace {

namespace fs = std::filesystem;

constexpr const char* kEmbeddedPrefix = "<stdlib>/";

class Loader {
 public:
  Loader(const DefinitionOptions& options, Definitions& defs,
         const std::vector<TextFile>* texts = nullptr)
      : options_(options), defs_(defs), texts_(texts) {}

  // Loads `main` from its text, imports from texts_ first.
  void RunOnText(const TextFile& main) {
    auto file = std::make_unique<SourceFile>();
    file->name = main.name;
    file->text = main.text;
    LoadFile(main.name, std::move(file));
    CompileLoaded();
  }

  void Run() {
    std::vector<std::string> given;
    for (const std::string& path : options_.paths) {
      std::error_code ec;
      if (fs::is_directory(path, ec)) {
        std::vector<std::string> found;
        for (const auto& entry : fs::directory_iterator(path, ec)) {
          if (entry.is_regular_file() && entry.path().extension() == ".takt") {
            found.push_back(entry.path().string());
          }
        }
        std::sort(found.begin(), found.end());
        if (found.empty()) LoadError(path, "no .takt files in this directory");
        given.insert(given.end(), found.begin(), found.end());
      } else if (fs::exists(path, ec)) {
        given.push_back(path);
      } else {
        LoadError(path, "no such file or directory");
      }
    }
    for (const std::string& path : given) FindShadow(path);
    for (const std::string& path : given) LoadPath(path, nullptr);
    CompileLoaded();
  }

 private:
  // After syntax errors too, so that one run reports the other declarations' errors (the
  // compiler leaves out what only a broken declaration's absence causes); not after a file or
  // an import that could not be read, whose absence would be reported everywhere it is used.
  void CompileLoaded() {
    if (load_failed_) return;
    std::vector<const AstFile*> files;
    for (const AstFile& ast : asts_) files.push_back(&ast);
    Compile(files, defs_.catalog, defs_.diagnostics);
  }

  void LoadError(const std::string& file, std::string message) {
    load_failed_ = true;
    defs_.diagnostics.FileError(file, std::move(message));
  }

  // A file given to load that has the name of a built-in stdlib file (stdlib/plant.takt beside
  // `import "plant"`) is what that import reads: the same text is then loaded once, and other
  // text shadows the built-in, which a warning says when the file is read (LoadPath()).
  void FindShadow(const std::string& path) {
    const std::string stem = fs::path(path).stem().string();
    for (const EmbeddedFile& embedded : EmbeddedStdlib()) {
      if (stem == embedded.name) shadows_.emplace(stem, Shadow{path, embedded.text});
    }
  }

  // Loads the file at `path` on disk unless it was loaded already. `from` is the import that
  // asked for it, for the cycle message.
  void LoadPath(const std::string& path, const AstImport* from) {
    std::error_code ec;
    const std::string id = fs::weakly_canonical(path, ec).string();
    if (Visited(id, from)) return;
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) {
      LoadError(path, "cannot read the file");
      return;
    }
    auto file = std::make_unique<SourceFile>();
    file->name = path;
    file->path = path;
    file->text = text.str();
    const std::string stem = fs::path(path).stem().string();
    const auto shadow = shadows_.find(stem);
    if (shadow != shadows_.end() && shadow->second.path == path &&
        file->text != shadow->second.builtin) {
      defs_.diagnostics.Warning(Location{file.get(), 1, 1},
                                "this file has the name of the built-in \"" + stem +
                                    "\" and other text: it shadows it, and import \"" + stem +
                                    "\" reads this file");
    }
    LoadFile(id, std::move(file));
  }

  // True when `id` needs no loading: done already, or in progress (a cycle, reported here).
  bool Visited(const std::string& id, const AstImport* from) {
    if (done_.count(id) != 0) return true;
    auto on_stack = std::find(stack_.begin(), stack_.end(), id);
    if (on_stack == stack_.end()) return false;
    std::string chain;
    for (auto it = on_stack; it != stack_.end(); ++it) chain += DisplayName(*it) + " -> ";
    chain += DisplayName(id);
    load_failed_ = true;
    defs_.diagnostics.Error(from->path.where, "import cycle: " + chain);
    return true;
  }

  std::string DisplayName(const std::string& id) const {
    auto it = names_.find(id);
    return it == names_.end() ? id : it->second;
  }

  void LoadFile(const std::string& id, std::unique_ptr<SourceFile> file) {
    names_[id] = file->name;
    stack_.push_back(id);
    AstFile ast;
    ParseFile(*file, ast, defs_.diagnostics);
    const SourceFile* source = file.get();
    defs_.files.push_back(std::move(file));
    for (const AstImport& import : ast.imports) Import(*source, import);
    stack_.pop_back();
    done_.insert(id);
    asts_.push_back(std::move(ast));
  }

  void Import(const SourceFile& importer, const AstImport& import) {
    std::string name = import.path.text;
    if (fs::path(name).extension() != ".takt") name += ".takt";
    std::vector<std::string> tried;
    if (texts_ != nullptr) {
      const std::string stem = fs::path(name).stem().string();
      for (const TextFile& text : *texts_) {
        if (fs::path(text.name).stem().string() != stem) continue;
        if (Visited(text.name, &import)) return;
        auto file = std::make_unique<SourceFile>();
        file->name = text.name;
        file->text = text.text;
        return LoadFile(text.name, std::move(file));
      }
    }
    if (!importer.path.empty()) {
      const fs::path beside = fs::path(importer.path).parent_path() / name;
      tried.push_back(beside.string());
      if (fs::exists(beside)) return LoadPath(beside.string(), &import);
    }
    if (!options_.stdlib_dir.empty()) {
      const fs::path in_stdlib = fs::path(options_.stdlib_dir) / name;
      tried.push_back(in_stdlib.string());
      if (fs::exists(in_stdlib)) return LoadPath(in_stdlib.string(), &import);
    }
    const std::string stem = fs::path(name).replace_extension().string();
    if (auto shadow = shadows_.find(stem); shadow != shadows_.end()) {
      return LoadPath(shadow->second.path, &import);
    }
    for (const EmbeddedFile& embedded : EmbeddedStdlib()) {
      if (stem != embedded.name) continue;
      const std::string id = kEmbeddedPrefix + stem + ".takt";
      if (Visited(id, &import)) return;
      auto file = std::make_unique<SourceFile>();
      file->name = id;
      file->text = embedded.text;
      return LoadFile(id, std::move(file));
    }
    tried.push_back(std::string(kEmbeddedPrefix) + name);
    std::string where;
    for (const std::string& t : tried) where += (where.empty() ? "" : ", ") + t;
    load_failed_ = true;
    defs_.diagnostics.Error(import.path.where,
                            "import \"" + import.path.text + "\" not found (looked in: " + where + ")");
  }

  const DefinitionOptions& options_;
  Definitions& defs_;
  const std::vector<TextFile>* texts_;  // files given as text; null: from disk
  std::vector<AstFile> asts_;
  std::vector<std::string> stack_;  // ids of the files being loaded, outermost first
  std::set<std::string> done_;
  std::map<std::string, std::string> names_;  // id -> name shown in messages
  struct Shadow {
    std::string path;     // the file given to load
    const char* builtin;  // the text of the built-in file of the same name
  };
  std::map<std::string, Shadow> shadows_;  // by the built-in stdlib file's name
  bool load_failed_ = false;  // a file or import could not be read, or imports form a cycle
};

}  // namespace

std::unique_ptr<Definitions> LoadDefinitions(const DefinitionOptions& options) {
  auto defs = std::make_unique<Definitions>();
  Loader(options, *defs).Run();
  return defs;
}

std::unique_ptr<Definitions> LoadDefinitionsFromText(const TextFile& main,
                                                     const std::vector<TextFile>& imports) {
  auto defs = std::make_unique<Definitions>();
  const DefinitionOptions none;
  Loader(none, *defs, &imports).RunOnText(main);
  return defs;
}

}  // namespace takt::dsl

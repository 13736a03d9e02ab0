// The .takt files of stdlib/, built into the binary so that `import "plant"` works with no
// path to configure. Generated into the build tree by cmake/embed_file.cmake.
#ifndef TAKT_DSL_EMBEDDED_STDLIB_H_
#define TAKT_DSL_EMBEDDED_STDLIB_H_

#include <vector>

namespace takt::dsl {

struct EmbeddedFile {
  const char* name;  // "plant" for stdlib/plant.takt
  const char* text;
};

const std::vector<EmbeddedFile>& EmbeddedStdlib();

}  // namespace takt::dsl

#endif  // TAKT_DSL_EMBEDDED_STDLIB_H_

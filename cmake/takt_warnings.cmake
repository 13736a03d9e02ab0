# takt_warnings: an interface target every takt library and program links PRIVATE.
add_library(takt_warnings INTERFACE)
target_compile_options(takt_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wold-style-cast
  -Wnon-virtual-dtor -Woverloaded-virtual)
if(TAKT_WERROR)
  target_compile_options(takt_warnings INTERFACE -Werror)
endif()
if(TAKT_SANITIZE)
  target_compile_options(takt_warnings INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
                                                 -fno-sanitize-recover=undefined)
  target_link_options(takt_warnings INTERFACE -fsanitize=address,undefined)
endif()

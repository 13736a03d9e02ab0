# takt_library_objects(TARGET): marks an object library as part of libtakt (cmake/takt_library.cmake).
# Objects of libtakt are compiled position-independent (the shared library) with hidden
# visibility: only what include/takt/ marks TAKT_API is exported from libtakt.so.
# With TAKT_LTO_ENABLED (CMakeLists.txt) they carry GCC's intermediate code as well, for the
# shared library's link-time optimisation.
function(takt_library_objects target)
  set_target_properties(${target} PROPERTIES
    POSITION_INDEPENDENT_CODE ON
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  if(TAKT_LTO_ENABLED)
    target_compile_options(${target} PRIVATE -flto=auto -ffat-lto-objects)
  endif()
endfunction()

# takt_layer(NAME SOURCES file... [USES layer...] [LIBS target...]): one layer of libtakt, an
# object library that may call the layers it USES (and what they use), never one above it.
#
# The build holds it to that: NAME_layering links the layer's objects with those of the layers
# below it into a shared library with --no-undefined, so a call into any other layer leaves a
# symbol unresolved and fails the build, naming the symbol and the object that calls it.
# libtakt is built from the objects of every layer, in the order they were declared.
function(takt_layer name)
  cmake_parse_arguments(arg "" "" "SOURCES;USES;LIBS" ${ARGN})
  add_library(${name} OBJECT ${arg_SOURCES})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR} ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(${name} PRIVATE ${arg_LIBS} takt_warnings)
  takt_library_objects(${name})

  set(below ${arg_USES})
  foreach(layer IN LISTS arg_USES)
    get_property(their_below GLOBAL PROPERTY TAKT_LAYER_BELOW_${layer})
    list(APPEND below ${their_below})
  endforeach()
  list(REMOVE_DUPLICATES below)
  set(objects $<TARGET_OBJECTS:${name}>)
  set(libs ${arg_LIBS})
  foreach(layer IN LISTS below)
    list(APPEND objects $<TARGET_OBJECTS:${layer}>)
    get_property(their_libs GLOBAL PROPERTY TAKT_LAYER_LIBS_${layer})
    list(APPEND libs ${their_libs})
  endforeach()
  set_property(GLOBAL PROPERTY TAKT_LAYER_BELOW_${name} ${below})
  set_property(GLOBAL PROPERTY TAKT_LAYER_LIBS_${name} ${arg_LIBS})
  set_property(GLOBAL APPEND PROPERTY TAKT_LAYERS ${name})

  add_library(${name}_layering SHARED ${objects})
  target_link_libraries(${name}_layering PRIVATE ${libs} takt_warnings)
  target_link_options(${name}_layering PRIVATE -Wl,--no-undefined)
endfunction()

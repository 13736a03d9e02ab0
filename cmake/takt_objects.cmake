# takt_library_objects(TARGET): marks an object library as part of libtakt (cmake/takt_library.cmake).
# Objects of libtakt are compiled position-independent (the shared library) with hidden
# visibility: only what include/takt/ marks TAKT_API is exported from libtakt.so.
function(takt_library_objects target)
  set_target_properties(${target} PROPERTIES
    POSITION_INDEPENDENT_CODE ON
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
endfunction()

# libtakt: the library embedders link, static and shared, built from one set of objects
# (the object library of every layer, cmake/takt_objects.cmake), and how it is installed: headers, both libraries,
# a CMake package (find_package(takt) -> takt::takt) and pkg-config's takt.pc.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# What libtakt's objects need at link time. Private to the shared library; a static library
# passes them on to whoever links it.
set(TAKT_LIBRARY_DEPENDENCIES
  Threads::Threads SQLite::SQLite3 OpenSSL::SSL OpenSSL::Crypto PkgConfig::LUA simdjson::simdjson
  CURL::libcurl PkgConfig::HTTPLIB)

function(takt_add_library target kind)
  get_property(layers GLOBAL PROPERTY TAKT_LAYERS)
  list(TRANSFORM layers REPLACE "(.+)" "$<TARGET_OBJECTS:\\1>" OUTPUT_VARIABLE objects)
  add_library(${target} ${kind} ${objects})
  target_include_directories(${target} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(${target} PRIVATE ${TAKT_LIBRARY_DEPENDENCIES} $<BUILD_INTERFACE:takt_warnings>)
  target_compile_features(${target} PUBLIC cxx_std_17)
  set_target_properties(${target} PROPERTIES OUTPUT_NAME takt)
endfunction()

# The SONAME changes with every release that may break the ABI: each minor version while the
# major is 0 (libtakt.so.0.1), each major version from 1.0 on.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(TAKT_SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
  set(TAKT_COMPATIBILITY SameMinorVersion)
else()
  set(TAKT_SOVERSION ${PROJECT_VERSION_MAJOR})
  set(TAKT_COMPATIBILITY SameMajorVersion)
endif()
takt_add_library(takt_shared SHARED)
set_target_properties(takt_shared PROPERTIES
  VERSION ${PROJECT_VERSION}
  SOVERSION ${TAKT_SOVERSION}
  EXPORT_NAME takt)
# Nothing of libtakt's dependencies may stay unresolved: a consumer links -ltakt and no more.
target_link_options(takt_shared PRIVATE -Wl,--no-undefined)
if(TAKT_LTO_ENABLED)
  target_link_options(takt_shared PRIVATE -flto=auto)
endif()
takt_add_library(takt_static STATIC)
set_target_properties(takt_static PROPERTIES EXPORT_NAME takt_static)
add_library(takt::takt ALIAS takt_shared)
add_library(takt::takt_static ALIAS takt_static)

install(TARGETS takt_shared EXPORT takt-targets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT dev)
install(TARGETS takt_static EXPORT takt-static-targets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/takt
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev)

set(TAKT_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/takt)
install(EXPORT takt-targets NAMESPACE takt:: DESTINATION ${TAKT_CMAKE_DIR} COMPONENT dev)
install(EXPORT takt-static-targets NAMESPACE takt:: DESTINATION ${TAKT_CMAKE_DIR} COMPONENT dev)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/takt-config.cmake.in
  ${PROJECT_BINARY_DIR}/takt-config.cmake INSTALL_DESTINATION ${TAKT_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/takt-config-version.cmake
  COMPATIBILITY ${TAKT_COMPATIBILITY})
install(FILES ${PROJECT_BINARY_DIR}/takt-config.cmake ${PROJECT_BINARY_DIR}/takt-config-version.cmake
  DESTINATION ${TAKT_CMAKE_DIR} COMPONENT dev)

# takt.pc finds its prefix from where it is installed (${pcfiledir}), so that
# `cmake --install --prefix DIR` gives a working file wherever DIR is.
set(TAKT_PC_LIBDIR_DEPTH ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
string(REGEX REPLACE "[^/]+" ".." TAKT_PC_UP ${TAKT_PC_LIBDIR_DEPTH})
configure_file(${PROJECT_SOURCE_DIR}/cmake/takt.pc.in ${PROJECT_BINARY_DIR}/takt.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/takt.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)

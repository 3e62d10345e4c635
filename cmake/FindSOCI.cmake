# Debian's libsoci-dev (4.0) ships no CMake package configuration; this module
# creates the IMPORTED targets SOCI::core, SOCI::sqlite3 and SOCI::postgresql.
find_path(SOCI_INCLUDE_DIR NAMES soci/soci.h)
find_library(SOCI_CORE_LIBRARY NAMES soci_core)
find_library(SOCI_SQLITE3_LIBRARY NAMES soci_sqlite3)
find_library(SOCI_POSTGRESQL_LIBRARY NAMES soci_postgresql)
find_path(SOCI_PQ_INCLUDE_DIR NAMES libpq-fe.h
          PATH_SUFFIXES postgresql)
find_library(SOCI_SQLITE_LIBRARY NAMES sqlite3)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(SOCI
  REQUIRED_VARS SOCI_CORE_LIBRARY SOCI_SQLITE3_LIBRARY
                SOCI_POSTGRESQL_LIBRARY SOCI_INCLUDE_DIR SOCI_PQ_INCLUDE_DIR
                SOCI_SQLITE_LIBRARY)

if(SOCI_FOUND AND NOT TARGET SOCI::core)
  add_library(SOCI::core UNKNOWN IMPORTED)
  set_target_properties(SOCI::core PROPERTIES
    IMPORTED_LOCATION "${SOCI_CORE_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${SOCI_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "${CMAKE_DL_LIBS}")
  add_library(SOCI::sqlite3 UNKNOWN IMPORTED)
  set_target_properties(SOCI::sqlite3 PROPERTIES
    IMPORTED_LOCATION "${SOCI_SQLITE3_LIBRARY}"
    INTERFACE_LINK_LIBRARIES "SOCI::core;${SOCI_SQLITE_LIBRARY}")
  add_library(SOCI::postgresql UNKNOWN IMPORTED)
  set_target_properties(SOCI::postgresql PROPERTIES
    IMPORTED_LOCATION "${SOCI_POSTGRESQL_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${SOCI_PQ_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES SOCI::core)
endif()
mark_as_advanced(SOCI_INCLUDE_DIR SOCI_CORE_LIBRARY SOCI_SQLITE3_LIBRARY
                 SOCI_POSTGRESQL_LIBRARY SOCI_PQ_INCLUDE_DIR
                 SOCI_SQLITE_LIBRARY)

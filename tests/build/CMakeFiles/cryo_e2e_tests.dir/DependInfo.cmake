
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/tests/e2e/harness.cc" "CMakeFiles/cryo_e2e_tests.dir/e2e/harness.o" "gcc" "CMakeFiles/cryo_e2e_tests.dir/e2e/harness.o.d"
  "/work/main/tests/e2e/show_test.cc" "CMakeFiles/cryo_e2e_tests.dir/e2e/show_test.o" "gcc" "CMakeFiles/cryo_e2e_tests.dir/e2e/show_test.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")

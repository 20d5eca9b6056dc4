
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/tests/unit/duration_test.cc" "CMakeFiles/cryo_unit_tests.dir/unit/duration_test.o" "gcc" "CMakeFiles/cryo_unit_tests.dir/unit/duration_test.o.d"
  "/work/main/tests/unit/framed_file_test.cc" "CMakeFiles/cryo_unit_tests.dir/unit/framed_file_test.o" "gcc" "CMakeFiles/cryo_unit_tests.dir/unit/framed_file_test.o.d"
  "/work/main/tests/unit/image_dir_test.cc" "CMakeFiles/cryo_unit_tests.dir/unit/image_dir_test.o" "gcc" "CMakeFiles/cryo_unit_tests.dir/unit/image_dir_test.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")

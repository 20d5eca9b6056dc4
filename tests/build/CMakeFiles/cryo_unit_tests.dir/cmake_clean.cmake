file(REMOVE_RECURSE
  "CMakeFiles/cryo_unit_tests.dir/unit/duration_test.o"
  "CMakeFiles/cryo_unit_tests.dir/unit/duration_test.o.d"
  "CMakeFiles/cryo_unit_tests.dir/unit/framed_file_test.o"
  "CMakeFiles/cryo_unit_tests.dir/unit/framed_file_test.o.d"
  "CMakeFiles/cryo_unit_tests.dir/unit/image_dir_test.o"
  "CMakeFiles/cryo_unit_tests.dir/unit/image_dir_test.o.d"
  "cryo_unit_tests"
  "cryo_unit_tests.pdb"
  "cryo_unit_tests[1]_tests.cmake"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/cryo_unit_tests.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()

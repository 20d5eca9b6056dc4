file(REMOVE_RECURSE
  "CMakeFiles/cryo_e2e_tests.dir/e2e/harness.o"
  "CMakeFiles/cryo_e2e_tests.dir/e2e/harness.o.d"
  "CMakeFiles/cryo_e2e_tests.dir/e2e/show_test.o"
  "CMakeFiles/cryo_e2e_tests.dir/e2e/show_test.o.d"
  "cryo_e2e_tests"
  "cryo_e2e_tests.pdb"
  "cryo_e2e_tests[1]_tests.cmake"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/cryo_e2e_tests.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()

file(REMOVE_RECURSE
  "CMakeFiles/engine_check.dir/work/main/test/native/engine_check.cc.o"
  "CMakeFiles/engine_check.dir/work/main/test/native/engine_check.cc.o.d"
  "engine_check"
  "engine_check.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/engine_check.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()

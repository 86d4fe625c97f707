file(REMOVE_RECURSE
  "CMakeFiles/netqos_floor.dir/work/main/bench/floor/floor.cc.o"
  "CMakeFiles/netqos_floor.dir/work/main/bench/floor/floor.cc.o.d"
  "netqos_floor"
  "netqos_floor.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/netqos_floor.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()

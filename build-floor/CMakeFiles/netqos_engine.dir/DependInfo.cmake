
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/native/action/action.cc" "CMakeFiles/netqos_engine.dir/action/action.cc.o" "gcc" "CMakeFiles/netqos_engine.dir/action/action.cc.o.d"
  "/work/main/native/action/csum.cc" "CMakeFiles/netqos_engine.dir/action/csum.cc.o" "gcc" "CMakeFiles/netqos_engine.dir/action/csum.cc.o.d"
  "/work/main/native/action/gact.cc" "CMakeFiles/netqos_engine.dir/action/gact.cc.o" "gcc" "CMakeFiles/netqos_engine.dir/action/gact.cc.o.d"
  "/work/main/native/action/mirred.cc" "CMakeFiles/netqos_engine.dir/action/mirred.cc.o" "gcc" "CMakeFiles/netqos_engine.dir/action/mirred.cc.o.d"
  "/work/main/native/action/pedit.cc" "CMakeFiles/netqos_engine.dir/action/pedit.cc.o" "gcc" "CMakeFiles/netqos_engine.dir/action/pedit.cc.o.d"
  "/work/main/native/action/police.cc" "CMakeFiles/netqos_engine.dir/action/police.cc.o" "gcc" "CMakeFiles/netqos_engine.dir/action/police.cc.o.d"
  "/work/main/native/action/skbedit.cc" "CMakeFiles/netqos_engine.dir/action/skbedit.cc.o" "gcc" "CMakeFiles/netqos_engine.dir/action/skbedit.cc.o.d"
  "/work/main/native/filter/matchall.cc" "CMakeFiles/netqos_engine.dir/filter/matchall.cc.o" "gcc" "CMakeFiles/netqos_engine.dir/filter/matchall.cc.o.d"
  "/work/main/native/filter/u32.cc" "CMakeFiles/netqos_engine.dir/filter/u32.cc.o" "gcc" "CMakeFiles/netqos_engine.dir/filter/u32.cc.o.d"
  "/work/main/native/link/link.cc" "CMakeFiles/netqos_engine.dir/link/link.cc.o" "gcc" "CMakeFiles/netqos_engine.dir/link/link.cc.o.d"
  "/work/main/native/message.cc" "CMakeFiles/netqos_engine.dir/message.cc.o" "gcc" "CMakeFiles/netqos_engine.dir/message.cc.o.d"
  "/work/main/native/operation.cc" "CMakeFiles/netqos_engine.dir/operation.cc.o" "gcc" "CMakeFiles/netqos_engine.dir/operation.cc.o.d"
  "/work/main/native/plain_fields.cc" "CMakeFiles/netqos_engine.dir/plain_fields.cc.o" "gcc" "CMakeFiles/netqos_engine.dir/plain_fields.cc.o.d"
  "/work/main/native/qdisc/clsact.cc" "CMakeFiles/netqos_engine.dir/qdisc/clsact.cc.o" "gcc" "CMakeFiles/netqos_engine.dir/qdisc/clsact.cc.o.d"
  "/work/main/native/qdisc/ingress.cc" "CMakeFiles/netqos_engine.dir/qdisc/ingress.cc.o" "gcc" "CMakeFiles/netqos_engine.dir/qdisc/ingress.cc.o.d"
  "/work/main/native/qdisc/tbf.cc" "CMakeFiles/netqos_engine.dir/qdisc/tbf.cc.o" "gcc" "CMakeFiles/netqos_engine.dir/qdisc/tbf.cc.o.d"
  "/work/main/native/registry.cc" "CMakeFiles/netqos_engine.dir/registry.cc.o" "gcc" "CMakeFiles/netqos_engine.dir/registry.cc.o.d"
  "/work/main/native/socket.cc" "CMakeFiles/netqos_engine.dir/socket.cc.o" "gcc" "CMakeFiles/netqos_engine.dir/socket.cc.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")

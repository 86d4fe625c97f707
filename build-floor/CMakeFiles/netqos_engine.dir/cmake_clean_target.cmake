file(REMOVE_RECURSE
  "libnetqos_engine.a"
)

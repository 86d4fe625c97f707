# Empty dependencies file for netqos_engine.
# This may be replaced when dependencies are built.

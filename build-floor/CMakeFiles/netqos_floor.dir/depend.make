# Empty dependencies file for netqos_floor.
# This may be replaced when dependencies are built.

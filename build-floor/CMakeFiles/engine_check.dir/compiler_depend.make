# Empty compiler generated dependencies file for engine_check.
# This may be replaced when dependencies are built.

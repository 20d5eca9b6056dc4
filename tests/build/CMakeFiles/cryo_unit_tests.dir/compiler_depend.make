# Empty compiler generated dependencies file for cryo_unit_tests.
# This may be replaced when dependencies are built.

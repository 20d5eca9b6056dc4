# CMAKE generated file: DO NOT EDIT!
# Timestamp file for compiler generated dependencies management for cryo_e2e_tests.

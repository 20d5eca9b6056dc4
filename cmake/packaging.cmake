# Install rules and the Debian package (issue 13).
#
#   cmake --install build --prefix /usr   (DESTDIR=... too) the binary, man pages, bash completion, docs
#   cpack -G DEB in build/, or the `package` target         cryo_<version>_<arch>.deb
#
# The man pages (man/) and the bash completion (completion/) install themselves; this file installs
# the binary and the documentation and describes the package. Its Depends are computed by
# dpkg-shlibdeps from the libraries the binary links, so they follow the build, not a list kept here.
install(TARGETS cryo RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# cryo execs it for every command but `run` (src/cli/core_binary.h).
install(TARGETS cryo-core RUNTIME DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/cryo)
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${CMAKE_SOURCE_DIR}/docs/design.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${CMAKE_SOURCE_DIR}/images/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR} RENAME image-format.md)

set(CRYO_PACKAGE_MAINTAINER "cryo maintainers <cryo-maintainers@example.org>"
    CACHE STRING "The Maintainer field of the Debian package")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME cryo)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT ${CRYO_PACKAGE_MAINTAINER})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "checkpoint/restore of process trees in their own PID and time namespaces")
# The binary is built RelWithDebInfo; the package holds it stripped, as Debian's packages do.
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER ${CRYO_PACKAGE_MAINTAINER})
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS bash-completion)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# The extended description under the summary line (CPack indents it for debian/control).
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "cryo runs a command as PID 1 of fresh PID, mount, IPC and time namespaces, with
CLOCK_MONOTONIC and CLOCK_BOOTTIME shifted by any offset; checkpoints that tree
into an image directory (processes, threads, memory, registers, files, sockets,
signals, timers, cgroups); and restores it, here or on another host, with its
old PIDs and its clocks continuing from where they stopped. Images are
checksummed and can be signed with ed25519 keys.")
include(CPack)

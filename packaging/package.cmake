# The Debian package (CPack DEB): the daemon, its default configuration
# (a conffile), the systemd unit, the README and contrib/. Built by
# scripts/package.sh from an existing build tree.

include(GNUInstallDirs)

# `cpack` runs the install step, which by default builds everything first:
# with tests and bench that is most of the build, for one binary.
# scripts/package.sh builds regeventd itself before calling cpack.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

install(TARGETS regeventd RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# Absolute: /etc and /lib are outside the package's /usr prefix.
install(FILES ${PROJECT_SOURCE_DIR}/packaging/regevent.yml
        DESTINATION /etc/regevent)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/regevent.service
        DESTINATION /lib/systemd/system)
install(FILES ${PROJECT_SOURCE_DIR}/README.md
              ${PROJECT_SOURCE_DIR}/ARCHITECTURE.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/contrib/
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/contrib)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME regevent)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_CONTACT "regevent maintainers <regevent@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "container-registry event daemon (audit log, pull counts, webhooks)")
set(CPACK_PACKAGE_DESCRIPTION
    "regevent receives the notifications a container registry (CNCF \
Distribution, Debian's docker-registry) sends for every push, pull and \
delete, journals them durably and turns them into an audit log, a catalog \
with exact pull counts, and webhooks.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends: from the libraries the binary links, as dpkg-shlibdeps finds
# them, instead of a list that drifts from the build.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/debian/conffiles
    ${PROJECT_SOURCE_DIR}/packaging/debian/postinst
    ${PROJECT_SOURCE_DIR}/packaging/debian/prerm
    ${PROJECT_SOURCE_DIR}/packaging/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# The build tree keeps debug information; the package does not need it.
set(CPACK_STRIP_FILES ON)
include(CPack)

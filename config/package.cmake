# `cpack -G DEB` (scripts/package.sh): llamps_<version>_<arch>.deb with the binary, its man
# page, the two configurations as conffiles under /etc/llamps, and the systemd units. Included
# from the top CMakeLists.txt.

install(TARGETS llamps RUNTIME DESTINATION bin)
# `llamps bench`'s roofline probes (libtorch), opened from ../lib/llamps/ beside bin/.
install(TARGETS llamps_torch_probes LIBRARY DESTINATION lib/llamps)
install(FILES ${CMAKE_SOURCE_DIR}/config/contributor.ini DESTINATION /etc/llamps RENAME node.ini)
install(FILES ${CMAKE_SOURCE_DIR}/config/registry.ini DESTINATION /etc/llamps)
install(FILES ${CMAKE_SOURCE_DIR}/config/systemd/llamps-node.service
              ${CMAKE_SOURCE_DIR}/config/systemd/llamps-registry.service
        DESTINATION lib/systemd/system)

# llamps(1), from the binary's own --help texts, rebuilt with the binary.
set(LLAMPS_MAN_PAGE ${CMAKE_BINARY_DIR}/llamps.1.gz)
add_custom_command(OUTPUT ${LLAMPS_MAN_PAGE}
  COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/man_page.sh $<TARGET_FILE:llamps> ${PROJECT_VERSION}
          > ${CMAKE_BINARY_DIR}/llamps.1
  COMMAND gzip -9nf ${CMAKE_BINARY_DIR}/llamps.1
  DEPENDS llamps ${CMAKE_SOURCE_DIR}/scripts/man_page.sh
  COMMENT "Writing the man page llamps(1)")
add_custom_target(llamps_man_page ALL DEPENDS ${LLAMPS_MAN_PAGE})
install(FILES ${LLAMPS_MAN_PAGE} DESTINATION share/man/man1)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME llamps)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "LLaMPS developers <llamps@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Large language models on the leftover memory and cores of many machines")
set(CPACK_PACKAGE_DESCRIPTION
    "Contributor and registry nodes of an LLaMPS cluster: machines offer their spare memory and cores, an optimal placement spreads a model's transformer blocks over them, and inference sessions flow through the chain of block hosts.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # llamps_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_STRIP_FILES ON)
# The libraries it links, as dpkg-shlibdeps finds their packages; OpenBLAS by name, because
# libtorch (the probes' plugin) reaches it only through libblas.so.3, which the ~10x slower
# reference BLAS also provides.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libopenblas0-openmp | libopenblas0, adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/config/debian/postinst ${CMAKE_SOURCE_DIR}/config/debian/prerm
    ${CMAKE_SOURCE_DIR}/config/debian/postrm ${CMAKE_SOURCE_DIR}/config/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)

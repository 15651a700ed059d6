# ci/toolchains/aarch64-linux-gnu.cmake: the aarch64 (arm64) cross build on Debian.
#   cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=ci/toolchains/aarch64-linux-gnu.cmake
# (make build-aarch64). Needs gcc-aarch64-linux-gnu, qemu-user-static and the
# arm64 (multiarch) -dev packages of the project's libraries; ci/setup
# --cross installs them. Programs built here run under qemu's user mode:
# ctest runs them through CMAKE_CROSSCOMPILING_EMULATOR, the integration
# suites through SERVERMODELS_EMULATOR (ci/test-cross sets both up).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CROSS_TRIPLE aarch64-linux-gnu)

set(CMAKE_C_COMPILER ${CROSS_TRIPLE}-gcc)
set(CMAKE_ASM_COMPILER ${CROSS_TRIPLE}-gcc)

# Libraries and headers: the arm64 multiarch packages live under the host's
# /usr (/usr/lib/aarch64-linux-gnu, /usr/include), the cross C library
# under /usr/aarch64-linux-gnu. Programs (cmake, python3) are the host's.
set(CMAKE_FIND_ROOT_PATH /usr/${CROSS_TRIPLE})
set(CMAKE_LIBRARY_ARCHITECTURE ${CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

# pkg-config reads only the arm64 .pc files, never the host's.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/${CROSS_TRIPLE}/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")

# ctest (and try_run) run the programs built here through qemu's user mode.
# The aarch64 dynamic loader and C library are libc6:arm64's (multiarch,
# /lib/ld-linux-aarch64.so.1), so no -L: with -L /usr/aarch64-linux-gnu,
# qemu 7.2's forked children spin forever before their first instruction
# (a fork()+_exit(3) test program hung; without -L it exits at once).
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64-static)

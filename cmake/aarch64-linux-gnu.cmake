# Cross-compiles for 64-bit Arm Linux with Debian's aarch64-linux-gnu
# toolchain and its multiarch arm64 libraries (scripts/build-arm64.sh
# installs both). An Android build uses the NDK's toolchain file instead
# (docs/integration.md).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
# Libraries and pkg-config files from the arm64 multiarch directories only;
# headers (arch-independent ones like nlohmann/json) from /usr/include.
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
# Tests run through user-mode emulation, with the multiarch arm64 loader and
# libraries under / (the cross toolchain's own loader in /usr/aarch64-linux-gnu
# is an older glibc build than the multiarch libc, and the two together hang
# in the first pthread_create).
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64;-L;/)

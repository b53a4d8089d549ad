# libtorch for the train layer, the only layer that uses it. Included before
# the layers are declared: a libtorch built with the pre-C++11 string ABI
# needs the whole project compiled the same way.
#
# Three ways to point at a libtorch:
#  * nothing: find_package(Torch) finds Debian's libtorch-dev (CPU).
#  * -DCMAKE_PREFIX_PATH=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)'):
#    the libtorch inside a PyTorch installation through its own TorchConfig.cmake
#    (a CUDA PyTorch's config also wants the CUDA toolkit, nvcc included).
#  * -DJOSI_TORCH_ROOT=$(python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))'):
#    that same tree linked directly (include/, lib/), no CUDA toolkit needed;
#    libtorch_cuda is linked when present, so the GPU works.
set(JOSI_TORCH_ROOT "" CACHE PATH "A libtorch tree (include/, lib/) to link directly, e.g. the torch package directory of a PyTorch installation")

add_library(josi_torch INTERFACE)
if(JOSI_TORCH_ROOT)
  if(NOT EXISTS ${JOSI_TORCH_ROOT}/include/torch/csrc/api/include/torch/torch.h)
    message(FATAL_ERROR "JOSI_TORCH_ROOT=${JOSI_TORCH_ROOT} holds no libtorch headers (include/torch/csrc/api/include/torch/torch.h)")
  endif()
  # The string ABI of the libraries: C++11 std::string symbols carry "cxx11".
  execute_process(COMMAND nm -DC ${JOSI_TORCH_ROOT}/lib/libc10.so COMMAND grep -c "std::__cxx11::basic_string"
                  OUTPUT_VARIABLE cxx11_symbols OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(cxx11_symbols GREATER 0)
    set(torch_abi 1)
  else()
    set(torch_abi 0)
  endif()
  target_include_directories(josi_torch SYSTEM INTERFACE
    ${JOSI_TORCH_ROOT}/include ${JOSI_TORCH_ROOT}/include/torch/csrc/api/include)
  set(torch_libs ${JOSI_TORCH_ROOT}/lib/libtorch.so ${JOSI_TORCH_ROOT}/lib/libtorch_cpu.so ${JOSI_TORCH_ROOT}/lib/libc10.so)
  if(EXISTS ${JOSI_TORCH_ROOT}/lib/libtorch_cuda.so)
    # Nothing refers to the CUDA kernels by name; they register themselves
    # when loaded, so they must stay linked.
    list(PREPEND torch_libs -Wl,--no-as-needed ${JOSI_TORCH_ROOT}/lib/libtorch_cuda.so ${JOSI_TORCH_ROOT}/lib/libc10_cuda.so -Wl,--as-needed)
  endif()
  target_link_libraries(josi_torch INTERFACE ${torch_libs})
  target_link_options(josi_torch INTERFACE -Wl,-rpath,${JOSI_TORCH_ROOT}/lib)
  message(STATUS "libtorch: ${JOSI_TORCH_ROOT} (string ABI ${torch_abi})")
else()
  find_package(Torch REQUIRED)
  target_link_libraries(josi_torch INTERFACE torch)
  set(torch_abi 1)
  if(TORCH_CXX_FLAGS MATCHES "_GLIBCXX_USE_CXX11_ABI=0")
    set(torch_abi 0)
  endif()
  message(STATUS "libtorch: ${TORCH_INSTALL_PREFIX} (string ABI ${torch_abi})")
endif()
add_compile_definitions(_GLIBCXX_USE_CXX11_ABI=${torch_abi})
if(torch_abi EQUAL 0)
  # A system libfmt is built with the C++11 ABI: use fmt's header-only form.
  add_compile_definitions(FMT_HEADER_ONLY)
endif()

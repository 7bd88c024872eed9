# The library's layers. Each layer's sources are compiled against an include root of its own,
# build/layers/<layer>/tapegrad/<layer> -> the source folder, so `#include <tapegrad/ops/x.hpp>`
# resolves only in a layer that links ops: an upward include is a compile error, and an upward
# call a link error (with BUILD_SHARED_LIBS, every layer is linked with --no-undefined).

# Makes build/layers/<name>/tapegrad/<entry> a link to the source <entry> and adds that root to
# target's include path (INTERFACE for an interface library, PUBLIC otherwise).
function(tapegrad_include_root target name entry)
  set(root ${PROJECT_BINARY_DIR}/layers/${name})
  file(MAKE_DIRECTORY ${root}/tapegrad)
  file(CREATE_LINK ${PROJECT_SOURCE_DIR}/${entry} ${root}/tapegrad/${entry} SYMBOLIC)
  get_target_property(type ${target} TYPE)
  set(scope PUBLIC)
  if(type STREQUAL "INTERFACE_LIBRARY")
    set(scope INTERFACE)
  endif()
  target_include_directories(${target} ${scope} $<BUILD_INTERFACE:${root}>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
endfunction()

# tapegrad_layer(name): the library tapegrad_<name> (tapegrad::<name>) for the folder <name>/,
# static unless BUILD_SHARED_LIBS, with the project's warnings and code generation flags.
function(tapegrad_layer name)
  add_library(tapegrad_${name})
  add_library(tapegrad::${name} ALIAS tapegrad_${name})
  # $ORIGIN: an installed shared layer finds the layers it links beside itself.
  set_target_properties(tapegrad_${name} PROPERTIES EXPORT_NAME ${name} POSITION_INDEPENDENT_CODE ON
    INSTALL_RPATH "$ORIGIN")
  tapegrad_include_root(tapegrad_${name} ${name} ${name})
  target_compile_features(tapegrad_${name} PUBLIC cxx_std_20)
  target_compile_options(tapegrad_${name} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
    # GCC 12 false positives inside xsimd's AVX-512 intrinsics and libstdc++'s string copies.
    -Wno-maybe-uninitialized -Wno-restrict
    # errno is never read after maths here; without this GCC keeps sqrt out of vectorised loops
    # (the Adam update was 19% of a Fashion-MNIST epoch, bench/NOTES.md).
    -fno-math-errno)
  if(BUILD_SHARED_LIBS)
    target_link_options(tapegrad_${name} PRIVATE -Wl,--no-undefined)
  endif()
  # The library's own objects only: a consumer is compiled for whatever CPU it chooses.
  if(TAPEGRAD_NATIVE)
    target_compile_options(tapegrad_${name} PRIVATE -march=native)
  endif()
  if(TAPEGRAD_SANITIZE STREQUAL "thread")
    target_compile_options(tapegrad_${name} PUBLIC -fsanitize=thread -fno-omit-frame-pointer)
    target_link_options(tapegrad_${name} PUBLIC -fsanitize=thread)
  elseif(TAPEGRAD_SANITIZE)
    target_compile_options(tapegrad_${name} PUBLIC -fsanitize=address,undefined -fno-omit-frame-pointer)
    target_link_options(tapegrad_${name} PUBLIC -fsanitize=address,undefined)
  endif()
endfunction()

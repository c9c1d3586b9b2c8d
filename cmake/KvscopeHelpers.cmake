# Shared build settings for kvscope targets.

# Warnings for our own code (not for third-party headers).
function(kvscope_warnings target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
                                             -Wno-sign-conversion)
  endif()
endfunction()

# kvscope_add_library(NAME name ALIAS kvscope::name SOURCES a.cpp ... LIBS lib ...)
# One of the kvscope libraries: static, its include/ folder (next to the calling CMakeLists.txt)
# public, the libraries it builds on linked PUBLIC, our warnings on.
function(kvscope_add_library)
  cmake_parse_arguments(L "" "NAME;ALIAS" "SOURCES;LIBS" ${ARGN})
  add_library(${L_NAME} STATIC ${L_SOURCES})
  add_library(${L_ALIAS} ALIAS ${L_NAME})
  target_include_directories(${L_NAME} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include)
  target_link_libraries(${L_NAME} PUBLIC ${L_LIBS})
  kvscope_warnings(${L_NAME})
endfunction()

# kvscope_add_test(NAME name SOURCES a.cpp ... LIBS lib ...)
# A Catch2 test executable whose test cases are registered with CTest one by one. Every test
# executable links the one shared Catch2 main (kvscope_catch_main, tests/CMakeLists.txt), compiled
# once.
function(kvscope_add_test)
  cmake_parse_arguments(T "" "NAME" "SOURCES;LIBS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE kvscope_catch_main Catch2::Catch2 ${T_LIBS})
  target_compile_definitions(${T_NAME} PRIVATE KVSCOPE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  kvscope_warnings(${T_NAME})
  catch_discover_tests(${T_NAME} TEST_PREFIX "${T_NAME}:" PROPERTIES TIMEOUT 300)
endfunction()

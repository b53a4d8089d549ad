# libjosi, the app's library: the C API (include/josi/josi.h) over the
# runtime layer, as a shared library exporting only josi_* (version script)
# and as one static archive holding every layer it needs (libjosi.a).
# Neither links the ship, train, check or release layers: no libcurl, TLS
# or libtorch reaches the phone.
set(josi_runtime_layers josi_runtime josi_constrain josi_coach josi_knowledge josi_data josi_scoring josi_infer josi_kernels josi_quant josi_text
    josi_formats josi_json josi_base)

add_library(josi_capi STATIC src/capi/josi.cpp)
target_include_directories(josi_capi PUBLIC ${PROJECT_SOURCE_DIR}/include)
target_compile_options(josi_capi PRIVATE -fvisibility=hidden)
target_link_libraries(josi_capi PUBLIC josi_runtime)

add_library(josi_shared SHARED src/capi/josi.cpp)
set_target_properties(josi_shared PROPERTIES OUTPUT_NAME josi VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR})
target_include_directories(josi_shared PUBLIC ${PROJECT_SOURCE_DIR}/include)
target_link_libraries(josi_shared PRIVATE josi_runtime)
target_link_options(josi_shared PRIVATE -Wl,--version-script=${PROJECT_SOURCE_DIR}/src/capi/libjosi.map -Wl,--no-undefined
  -Wl,--as-needed)
set_property(TARGET josi_shared APPEND PROPERTY LINK_DEPENDS ${PROJECT_SOURCE_DIR}/src/capi/libjosi.map)

# libjosi.a: josi_capi and the layers below it in one archive (an ar MRI script).
set(mri "CREATE ${CMAKE_BINARY_DIR}/libjosi.a\nADDLIB $<TARGET_FILE:josi_capi>\n")
foreach(layer ${josi_runtime_layers})
  string(APPEND mri "ADDLIB $<TARGET_FILE:${layer}>\n")
endforeach()
string(APPEND mri "SAVE\nEND\n")
file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/libjosi.mri CONTENT "${mri}")
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/libjosi.a
  COMMAND ${CMAKE_COMMAND} -E rm -f ${CMAKE_BINARY_DIR}/libjosi.a
  COMMAND ${CMAKE_AR} -M < ${CMAKE_BINARY_DIR}/libjosi.mri
  DEPENDS josi_capi ${josi_runtime_layers} ${CMAKE_BINARY_DIR}/libjosi.mri
  COMMENT "Archiving libjosi.a")
add_custom_target(josi_static ALL DEPENDS ${CMAKE_BINARY_DIR}/libjosi.a)

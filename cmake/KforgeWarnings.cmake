# Strict host warnings for kforge's own targets (never for dependencies).
option(KFORGE_WERROR "Treat warnings as errors" OFF)

function(kforge_set_warnings target)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wshadow -Wpedantic -Wnon-virtual-dtor
      -Wold-style-cast -Wcast-align -Wunused -Woverloaded-virtual -Wimplicit-fallthrough
      $<$<BOOL:${KFORGE_WERROR}>:-Werror>>)
endfunction()

# Runs COMMAND (a ;-list) and passes only if it exits 0 within TIMEOUT seconds and its output
# matches every regex in EXPECT (a ;-list). The counterpart of expect_failure.cmake.
#   cmake -DCOMMAND=... -DEXPECT=... -DTIMEOUT=60 -P expect_success.cmake
if(NOT TIMEOUT)
  set(TIMEOUT 60)
endif()
execute_process(COMMAND ${COMMAND}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT ${TIMEOUT})
set(all "${out}${err}")
message(STATUS "exit: ${rc}\n${all}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "expected exit 0, got ${rc}")
endif()
foreach(pattern IN LISTS EXPECT)
  if(NOT all MATCHES "${pattern}")
    message(FATAL_ERROR "output does not match '${pattern}'")
  endif()
endforeach()

# Runs COMMAND (a ;-list) and passes only if it exits non-zero within TIMEOUT seconds and its
# output matches every regex in EXPECT (a ;-list). Used for tests whose point is a failure.
#   cmake -DCOMMAND=... -DEXPECT=... -DTIMEOUT=60 -P expect_failure.cmake
if(NOT TIMEOUT)
  set(TIMEOUT 60)
endif()
execute_process(COMMAND ${COMMAND}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT ${TIMEOUT})
set(all "${out}${err}")
message(STATUS "exit: ${rc}\n${all}")
if(rc MATCHES "timeout|Process terminated due to timeout")
  message(FATAL_ERROR "hung: no exit within ${TIMEOUT} s")
endif()
if(rc EQUAL 0)
  message(FATAL_ERROR "expected a non-zero exit, got 0")
endif()
foreach(pattern IN LISTS EXPECT)
  if(NOT all MATCHES "${pattern}")
    message(FATAL_ERROR "output does not match '${pattern}'")
  endif()
endforeach()

# Runs COMMAND (a ;-list) and passes only if it exits as EXIT says ("nonzero": a test whose
# point is a failure; "zero": success) within TIMEOUT seconds, and its output (stdout and
# stderr) matches every regex in EXPECT (a ;-list). A command that hangs fails the test.
#   cmake -DCOMMAND=... -DEXPECT=... -DEXIT=nonzero|zero -DTIMEOUT=60 -P expect_output.cmake
# Registered through colony_add_expect_test() in tests/CMakeLists.txt.
if(NOT TIMEOUT)
  set(TIMEOUT 60)
endif()
if(NOT EXIT MATCHES "^(zero|nonzero)$")
  message(FATAL_ERROR "EXIT: expected zero or nonzero, got '${EXIT}'")
endif()
execute_process(COMMAND ${COMMAND}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT ${TIMEOUT})
set(all "${out}${err}")
message(STATUS "exit: ${rc}\n${all}")
if(rc MATCHES "timeout|Process terminated due to timeout")
  message(FATAL_ERROR "hung: no exit within ${TIMEOUT} s")
endif()
if(EXIT STREQUAL "nonzero" AND rc EQUAL 0)
  message(FATAL_ERROR "expected a non-zero exit, got 0")
endif()
if(EXIT STREQUAL "zero" AND NOT rc EQUAL 0)
  message(FATAL_ERROR "expected exit 0, got ${rc}")
endif()
foreach(pattern IN LISTS EXPECT)
  if(NOT all MATCHES "${pattern}")
    message(FATAL_ERROR "output does not match '${pattern}'")
  endif()
endforeach()

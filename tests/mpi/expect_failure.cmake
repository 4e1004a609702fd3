# Runs a command that must fail: a non-zero exit status, output matching EXPECT (a regular
# expression) and at most MAX_SECONDS of wall time. Usage:
#   cmake -DCOMMAND="prog|arg1|arg2" -DEXPECT=regex -DMAX_SECONDS=30 -P expect_failure.cmake
string(REPLACE "|" ";" command "${COMMAND}")
string(TIMESTAMP start "%s")
execute_process(COMMAND ${command} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err
                TIMEOUT ${MAX_SECONDS})
string(TIMESTAMP stop "%s")
math(EXPR elapsed "${stop} - ${start}")
message("--- output (exit status ${status}, ${elapsed} s) ---\n${out}${err}---")
if("${status}" STREQUAL "0")
  message(FATAL_ERROR "expected a failure, but the command succeeded")
endif()
if("${status}" MATCHES "timeout|Process terminated")
  message(FATAL_ERROR "the command hung: still running after ${MAX_SECONDS} s")
endif()
if(NOT "${out}${err}" MATCHES "${EXPECT}")
  message(FATAL_ERROR "the output does not match '${EXPECT}'")
endif()
message("ok: failed with status ${status} after ${elapsed} s and the expected message")

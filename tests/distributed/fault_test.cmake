# Runs the fault job under mpirun (RUN: the command line) and requires that it ends non-zero, with
# the failing rank's message, instead of hanging (the test's TIMEOUT bounds the time).
execute_process(COMMAND ${RUN} RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(code EQUAL 0)
  message(FATAL_ERROR "the job exited 0 although rank 1 threw:\n${out}${err}")
endif()
if(NOT "${out}${err}" MATCHES "rank 1: uncaught exception: rank 1 failed on purpose")
  message(FATAL_ERROR "the job did not report rank 1's exception:\n${out}${err}")
endif()
message(STATUS "the job ended with code ${code} and rank 1's message")

# distributed sources (MPI process group, collectives) are added here.
target_sources(tapegrad_distributed PRIVATE
  distributed/collectives.cpp
  distributed/data_parallel.cpp
  distributed/process_group.cpp)

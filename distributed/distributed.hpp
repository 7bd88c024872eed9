/// \file
/// tapegrad::distributed, one include: the process group and the collectives on tensors. Link
/// tapegrad::distributed (built when CMake finds MPI) and launch with `mpirun -np N program`.
#pragma once

#include <tapegrad/distributed/collectives.hpp>
#include <tapegrad/distributed/data_parallel.hpp>
#include <tapegrad/distributed/process_group.hpp>

/// \file
/// Internal: MPI return codes turned into DistributedError. Included only by distributed/*.cpp.
#pragma once

#include <mpi.h>

#include <string>

#include <tapegrad/distributed/process_group.hpp>

namespace tapegrad::distributed::detail {

/// Throws DistributedError naming `what` and MPI's own message unless rc is MPI_SUCCESS.
inline void mpi_call(int rc, const char* what) {
    if (rc == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(rc, text, &length);
    fail<DistributedError>("{}: MPI failed on rank {}: {}", what, rank(), std::string(text, std::size_t(length)));
}

}  // namespace tapegrad::distributed::detail

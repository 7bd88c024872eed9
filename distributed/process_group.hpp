/// \file
/// The process group: every process of an MPI job (torch.distributed's default group), started by
/// `mpirun`/`srun`, or one process alone when started without a launcher.
#pragma once

#include <string>

#include <tapegrad/autograd/errors.hpp>

/// Data-parallel training over MPI (torch.distributed): the process group, collectives on tensors.
/// An optional component, built when CMake finds MPI (target tapegrad::distributed); the rest of
/// tapegrad does not depend on it.
namespace tapegrad::distributed {

/// A failure of the transport, or ranks that disagree (a collective called with different shapes,
/// dtypes or operations on different ranks): the message names the collective, the ranks and what
/// differs. Every rank of a disagreeing collective throws it, so none waits forever.
class DistributedError : public Error {
public:
    using Error::Error;
};

/// Joins the process group (torch.distributed.init_process_group with the MPI backend): initialises
/// MPI unless the program already did, and finalises it at exit if it initialised it. A program
/// started by `mpirun -np N` gets ranks 0..N-1; one started without a launcher is a group of one
/// (world size 1, rank 0). Calling it again is a no-op. MPI errors are returned, not fatal, so they
/// become DistributedError. Collectives, rank() and world_size() call it when it was not called.
/// It also installs a std::terminate handler that ends the whole job through abort() with the
/// uncaught exception's message: a rank that fails takes the others down instead of leaving them
/// waiting in a collective. A program that catches an error it cannot recover from on one rank
/// should call abort() itself (returning from main would wait in MPI_Finalize for the others).
void init();
/// Whether init() has run (or MPI was initialised by the program).
bool is_initialized();
/// This process's rank, 0 to world_size() - 1.
int rank();
/// The number of processes in the group.
int world_size();
/// Waits until every rank has called barrier() (torch.distributed.barrier).
void barrier();
/// Ends every process of the job with `code`, printing `message` on this rank's stderr first
/// (MPI_Abort): what a rank that cannot continue does so the others do not wait for it forever.
[[noreturn]] void abort(const std::string& message, int code = 1);

}  // namespace tapegrad::distributed

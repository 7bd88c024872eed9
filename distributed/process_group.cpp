#include <tapegrad/distributed/process_group.hpp>

#include <mpi.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <string>

#include "mpi_call.hpp"

namespace tapegrad::distributed {

namespace {

// An exception nothing caught, on any rank, ends the whole job with its message: without this the
// other ranks would wait forever in their next collective for a rank that is gone.
[[noreturn]] void abort_job_on_terminate() {
    std::string message = "terminate called without an active exception";
    if (const auto e = std::current_exception()) {
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& error) {
            message = std::string("uncaught exception: ") + error.what();
        } catch (...) {
            message = "uncaught exception of a type not derived from std::exception";
        }
    }
    abort(message, 1);
}

// MPI_Finalize at exit, when init() was the one that initialised MPI.
void finalize_at_exit() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
}

}  // namespace

void init() {
    static std::once_flag once;
    std::call_once(once, [] {
        int initialized = 0;
        MPI_Initialized(&initialized);
        if (!initialized) {
            int provided = 0;
            // Collectives are called from the thread that trains; FUNNELED is what every MPI offers.
            if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
                fail<DistributedError>("distributed::init: MPI_Init_thread failed");
            std::atexit(finalize_at_exit);
        }
        // Errors come back as codes (DistributedError) instead of aborting the job from inside MPI.
        MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
        std::set_terminate(abort_job_on_terminate);
    });
}

bool is_initialized() {
    int initialized = 0;
    MPI_Initialized(&initialized);
    return initialized != 0;
}

int rank() {
    init();
    int r = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

int world_size() {
    init();
    int n = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    return n;
}

void barrier() {
    init();
    detail::mpi_call(MPI_Barrier(MPI_COMM_WORLD), "distributed::barrier");
}

void abort(const std::string& message, int code) {
    std::fprintf(stderr, "rank %d: %s\n", is_initialized() ? rank() : 0, message.c_str());
    std::fflush(stderr);
    if (is_initialized()) MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);
}

}  // namespace tapegrad::distributed

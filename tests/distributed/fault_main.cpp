// A job in which rank 1 throws an exception nothing catches while the other ranks wait in a
// collective for it: the whole job must end, non-zero, with rank 1's message (fault_test.cmake).
#include <stdexcept>

#include <tapegrad/distributed/distributed.hpp>
#include <tapegrad/tapegrad.hpp>

namespace dist = tapegrad::distributed;

int main() {
    dist::barrier();
    if (dist::rank() == 1) throw std::runtime_error("rank 1 failed on purpose");
    tapegrad::TensorF t = {1.0F, 2.0F};
    dist::all_reduce(t);  // waits for rank 1, which never comes
    return 0;
}

#include <catch2/catch.hpp>
#include <tapegrad/distributed/distributed.hpp>
#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;
namespace dist = tapegrad::distributed;

TEST_CASE("every rank averages its gradient with the others'", "[readme]") {
    const int rank = dist::rank(), ranks = dist::world_size();  // joins the MPI job (or a world of one)
    tg::TensorD g = {1.0 * rank, 2.0};                            // this rank's gradient
    dist::all_reduce(g, dist::ReduceOp::Mean);                    // in place, on every rank
    CHECK(g.value()(0) == (ranks - 1) / 2.0);
    CHECK(g.value()(1) == 2.0);

    tg::TensorD gathered;
    dist::Work work = dist::all_gather_async(tg::TensorD(double(rank)), gathered);  // started
    work.wait();                                                                   // now complete
    CHECK(gathered.value()(ranks - 1) == ranks - 1);
}

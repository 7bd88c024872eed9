// tapegrad::set_num_threads: the one public knob for the threads ops use.
#include <catch2/catch.hpp>

#include <tapegrad/autograd/errors.hpp>
#include <tapegrad/autograd/threads.hpp>
#include <tapegrad/ops/matmul.hpp>
#include "says.hpp"

namespace tg = tapegrad;

TEST_CASE("threads: set_num_threads round-trips and refuses 0 and more than the hardware has", "[threads]") {
    const std::size_t before = tg::get_num_threads();
    CHECK(before >= 1);
    CHECK(before <= tg::max_num_threads());
    tg::set_num_threads(1);
    CHECK(tg::get_num_threads() == 1);
    tg::set_num_threads(tg::max_num_threads());
    CHECK(tg::get_num_threads() == tg::max_num_threads());
    CHECK_THROWS_MATCHES(tg::set_num_threads(0), tg::ValueError, Says("set_num_threads") && Says("0"));
    CHECK_THROWS_MATCHES(tg::set_num_threads(tg::max_num_threads() + 1), tg::ValueError,
                         Says("set_num_threads") && Says("hardware threads"));
    CHECK(tg::get_num_threads() == tg::max_num_threads());  // a refused call changes nothing
    tg::set_num_threads(before);
}

TEST_CASE("threads: a large product gives the same result with one thread and with all", "[threads]") {
    const std::size_t before = tg::get_num_threads();
    tg::Tensor<double> a(xt::xarray<double>(xt::arange<double>(0, 256 * 256).reshape({256, 256}) / 65536.0));
    tg::set_num_threads(1);
    const auto one = tg::matmul(a, a).value();
    tg::set_num_threads(tg::max_num_threads());
    const auto all = tg::matmul(a, a).value();
    tg::set_num_threads(before);
    CHECK(xt::allclose(one, all, 1e-12, 1e-12));
}

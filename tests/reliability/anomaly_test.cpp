// Anomaly mode: off by default; when on, the first op whose forward or backward result holds a
// NaN or an infinity throws AnomalyError naming the op, where it ran and its inputs' statistics.
#include <cmath>
#include <limits>
#include <thread>

#include <catch2/catch.hpp>

#include "autograd/says.hpp"
#include "snapshot.hpp"

using tg::TensorD;

namespace {
const double kInf = std::numeric_limits<double>::infinity();
const double kNaN = std::numeric_limits<double>::quiet_NaN();
}  // namespace

TEST_CASE("anomaly: off by default, so NaN flows through silently", "[reliability][anomaly]") {
    CHECK_FALSE(tg::is_anomaly_enabled());
    CHECK(std::isnan(tg::log(TensorD({-1.0})).item()));
}

TEST_CASE("anomaly: the guard turns it on for its scope and this thread only", "[reliability][anomaly]") {
    {
        tg::DetectAnomalyGuard guard;
        CHECK(tg::is_anomaly_enabled());
        bool other_thread = true;
        std::thread([&] { other_thread = tg::is_anomaly_enabled(); }).join();
        CHECK_FALSE(other_thread);
        {
            tg::DetectAnomalyGuard off(false);
            CHECK_FALSE(tg::is_anomaly_enabled());
            CHECK_NOTHROW(tg::log(TensorD({-1.0})));
        }
        CHECK(tg::is_anomaly_enabled());
    }
    CHECK_FALSE(tg::is_anomaly_enabled());
}

TEST_CASE("anomaly: a forward NaN throws at the op, with the guard's location and input statistics",
          "[reliability][anomaly]") {
    TensorD x({4.0, -1.0, 0.5}, true);
    const auto before = reliability::snapshot(x);
    tg::DetectAnomalyGuard guard;
    TensorD y = x * 2.0;  // op #1, finite
    CHECK_THROWS_MATCHES(tg::log(y), tg::AnomalyError,
                         Says("'log' (op #2 since anomaly detection was turned on") && Says("DetectAnomalyGuard at") &&
                             Says("anomaly_test.cpp") && Says("result: shape [3], min 0, max 2.07") && Says("1 NaN") &&
                             Says("input 0: shape [3], min -2, max 8, 0 NaN, 0 infinite"));
    CHECK(reliability::changes(before, x) == "");
    CHECK(tg::Tape::current().size() == 1);  // only the mul: the refused log recorded nothing
}

TEST_CASE("anomaly: anomaly_scope names the user's region and line", "[reliability][anomaly]") {
    tg::DetectAnomalyGuard guard;
    TensorD x({1.0, 0.0}, true);
    {
        const int line = __LINE__ + 1;
        auto scope = tg::anomaly_scope("layer 3");
        CHECK_THROWS_MATCHES(x / TensorD({1.0, 0.0}), tg::AnomalyError,
                             Says("'div'") && Says("anomaly_scope \"layer 3\" at") &&
                                 Says(fmt::format("anomaly_test.cpp:{}", line)) && Says("1 NaN"));
    }
    CHECK_THROWS_MATCHES(tg::exp(TensorD({1000.0})), tg::AnomalyError,
                         Says("'exp'") && Says("no anomaly_scope active") && Says("1 infinite"));
}

TEST_CASE("anomaly: user data holding a NaN is caught at the first op that sees it", "[reliability][anomaly]") {
    tg::DetectAnomalyGuard guard;
    TensorD w({1.0, 2.0}, true);
    CHECK_THROWS_MATCHES(tg::relu(w * TensorD({kNaN, 1.0})), tg::AnomalyError,
                         Says("'mul'") && Says("input 1: shape [2], min 1, max 1, 1 NaN"));
}

TEST_CASE("anomaly: a backward infinity names the op, where it was recorded, and leaves no gradient",
          "[reliability][anomaly]") {
    TensorD x({0.0, 4.0}, true);
    TensorD loss;
    int line = 0;
    tg::DetectAnomalyGuard guard;
    {
        auto scope = tg::anomaly_scope("norm");
        line = __LINE__ + 1;
        loss = tg::sum(tg::sqrt(x));  // sqrt(0) = 0 is fine; its derivative 1 / (2 sqrt 0) is not
    }
    CHECK_THROWS_MATCHES(loss.backward(), tg::AnomalyError,
                         Says("the backward of 'sqrt' (op #1 of the forward, anomaly_scope \"norm\" at") &&
                             Says(fmt::format("anomaly_test.cpp:{}", line - 2)) && Says("gradient for input 0") &&
                             Says("that gradient: shape [2], min 0.25, max inf") &&
                             Says("gradient into its output: shape [2], min 1, max 1") &&
                             Says("input 0: shape [2], min 0, max 4"));
    CHECK_FALSE(x.grad().defined());  // no partial gradient delivered
    tg::DetectAnomalyGuard off(false);
    loss.backward();  // the graph is intact: the same backward without detection runs
    CHECK(x.grad().value()(0) == kInf);
    CHECK(x.grad().value()(1) == 0.25);
}

TEST_CASE("anomaly: a NaN made inside a create_graph backward names the rule's node", "[reliability][anomaly]") {
    TensorD x({0.0}, true);
    TensorD y = tg::sum(tg::sqrt(x));
    tg::DetectAnomalyGuard guard;
    CHECK_THROWS_MATCHES(tg::grad<double>({y}, {x}, {}, std::nullopt, /*create_graph=*/true), tg::AnomalyError,
                         Says("the backward of 'sqrt' (recorded before anomaly detection was turned on)") &&
                             Says("that gradient: shape [], min inf, max inf"));
}

TEST_CASE("anomaly: a NaN seed is reported as the incoming gradient", "[reliability][anomaly]") {
    TensorD x({1.0, 2.0}, true);
    TensorD y = x * 3.0;
    tg::DetectAnomalyGuard guard;
    CHECK_THROWS_MATCHES(y.backward(TensorD({1.0, kNaN})), tg::AnomalyError,
                         Says("gradient flowing into the output of 'mul'") && Says("the seed held it"));
    CHECK_FALSE(x.grad().defined());
}

TEST_CASE("anomaly: a finite training loop runs unchanged with detection on", "[reliability][anomaly]") {
    auto train = [](bool detect) {
        tg::Generator gen(3);
        auto net = tg::nn::mlp<double>({3, 8, 2}, tg::nn::Activation::Tanh, gen);
        tg::optim::Adam<double> opt(net.parameters(), {.lr = 0.05});
        const TensorD x = tg::randn<double>({16, 3}, gen);
        tg::Labels y = tg::Labels::full({16}, 0);
        for (std::size_t i = 0; i < 16; ++i) y[i] = x.value()(i, 0) > 0 ? 1 : 0;
        tg::DetectAnomalyGuard guard(detect);
        double loss = 0;
        for (int s = 0; s < 20; ++s) {
            opt.zero_grad();
            auto scope = tg::anomaly_scope("step");
            TensorD l = tg::cross_entropy(net(x), y);
            l.backward();
            opt.step();
            loss = l.item();
        }
        return loss;
    };
    const double with = train(true);
    CHECK(with == train(false));  // detection only reads
    CHECK(with < 0.5);
}

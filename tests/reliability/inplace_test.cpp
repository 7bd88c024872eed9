// In-place safety: optimiser steps (and any mutable_value()) bump the version counter; a backward
// through a graph that saved the tensor before the change is refused with a clear error instead
// of a silently wrong gradient.
#include <catch2/catch.hpp>

#include "autograd/says.hpp"
#include "snapshot.hpp"

namespace nn = tapegrad::nn;
namespace optim = tapegrad::optim;
using tg::TensorF;

namespace {

struct Setup {
    tg::Generator gen{21};
    nn::Sequential<float> net = nn::mlp<float>({3, 5, 2}, nn::Activation::ReLU, gen);
    TensorF x = tg::randn<float>({4, 3}, gen);
    tg::Labels y = {0, 1, 1, 0};
};

}  // namespace

TEST_CASE("in-place: an SGD step between forward and backward is detected", "[reliability][inplace]") {
    Setup s;
    optim::SGD<float> opt(s.net.parameters(), {.lr = 0.1});
    TensorF loss = tg::cross_entropy(s.net(s.x), s.y);
    loss.backward(TensorF(), /*retain_graph=*/true);
    const auto version = s.net.parameters()[2].version();
    opt.step();  // changes the weights the graph saved
    CHECK_THROWS_MATCHES(loss.backward(), tg::AutogradError,
                         Says("'linear'") && Says("its input (shape [2, 5])") && Says("modified in place") &&
                             Says(fmt::format("version {} now, {} then", version + 1, version)) &&
                             Says("would be wrong"));
}

TEST_CASE("in-place: an Adam step between forward and backward is detected, and accumulates nothing",
          "[reliability][inplace]") {
    Setup s;
    optim::Adam<float> opt(s.net.parameters());
    TensorF loss = tg::cross_entropy(s.net(s.x), s.y);
    for (auto& p : s.net.parameters()) p.mutable_grad() = tg::ones<float>(p.shape());
    opt.step();  // e.g. a step from an earlier accumulation, between this forward and its backward
    const auto before = reliability::snapshot_all(s.net.parameters());
    CHECK_THROWS_MATCHES(loss.backward(), tg::AutogradError, Says("modified in place") && Says("[2, 5]"));
    CHECK(reliability::changes_all(before, s.net.parameters()) == "");
}

TEST_CASE("in-place: changing a saved tensor or an op's output in place is detected", "[reliability][inplace]") {
    TensorF x({1.0f, 2.0f}, true);
    TensorF y = tg::sigmoid(x);  // sigmoid's rule uses its output y, and mul saved y too
    TensorF loss = tg::sum(y * 3.0f);
    y.mutable_value()(0) = 0.0f;
    CHECK_THROWS_MATCHES(loss.backward(), tg::AutogradError, Says("'mul'") && Says("its input (shape [2])"));
    TensorF z = tg::sigmoid(x);
    z.mutable_value()(0) = 0.0f;  // only sigmoid's own record of z can notice
    CHECK_THROWS_MATCHES(z.backward(TensorF({1.0f, 1.0f})), tg::AutogradError,
                         Says("'sigmoid'") && Says("its output (shape [2])"));
}

TEST_CASE("in-place: init functions bump versions too", "[reliability][inplace]") {
    Setup s;
    TensorF loss = tg::cross_entropy(s.net(s.x), s.y);
    auto w = s.net.parameters()[0];
    const auto version = w.version();
    tg::nn::init::zeros_(w);
    CHECK(w.version() == version + 1);
    CHECK_THROWS_MATCHES(loss.backward(), tg::AutogradError, Says("modified in place"));
}

TEST_CASE("in-place: the normal order (backward, then step) is not refused", "[reliability][inplace]") {
    Setup s;
    optim::SGD<float> opt(s.net.parameters(), {.lr = 0.1});
    const auto version = s.net.parameters()[0].version();
    for (int i = 0; i < 3; ++i) {
        opt.zero_grad();
        tg::cross_entropy(s.net(s.x), s.y).backward();
        opt.step();
    }
    CHECK(s.net.parameters()[0].version() == version + 3);
}

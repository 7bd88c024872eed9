// Exception safety: a forward that throws half way (a bad shape in layer 3) or a backward that
// throws half way (a tensor changed in place) leaves the tape, the parameters and their
// gradients as they were, and the next step trains exactly as if the failure never happened.
#include <catch2/catch.hpp>

#include "autograd/says.hpp"
#include "snapshot.hpp"

namespace nn = tapegrad::nn;
using reliability::changes_all;
using reliability::snapshot_all;
using tg::TensorF;

namespace {

/// A layer written for a fixed batch of 8 (a common bug): a smaller last batch makes it throw.
class FixedBatch : public nn::Module<float> {
public:
    TensorF forward(const TensorF& x) override { return tg::reshape(x, {8, x.numel() / 8}); }
    std::string name() const override { return "FixedBatch"; }
};

nn::Sequential<float> make_net() {
    tg::Generator gen(11);
    nn::Sequential<float> net;
    net.push_back(std::make_shared<nn::Dense<float>>(4, 6, gen));
    net.push_back(std::make_shared<nn::Tanh<float>>());
    net.push_back(std::make_shared<FixedBatch>());  // layer 3
    net.push_back(std::make_shared<nn::Dense<float>>(6, 3, gen));
    return net;
}

TensorF batch(std::size_t rows, std::uint64_t seed) {
    tg::Generator gen(seed);
    return tg::randn<float>({rows, 4}, gen);
}

const tg::Labels labels = {0, 1, 2, 0, 1, 2, 0, 1};

void train_step(nn::Sequential<float>& net, tg::optim::Optimizer<float>& opt, std::uint64_t seed) {
    opt.zero_grad();
    tg::cross_entropy(net(batch(8, seed)), labels).backward();
    opt.step();
}

}  // namespace

TEST_CASE("exception safety: a bad shape in layer 3 leaves the tape and the model consistent",
          "[reliability][exception-safety]") {
    auto net = make_net(), twin = make_net();
    tg::optim::Adam<float> opt(net.parameters(), {.lr = 0.01}), twin_opt(twin.parameters(), {.lr = 0.01});
    train_step(net, opt, 1);
    train_step(twin, twin_opt, 1);
    // Leave gradients in place, as a user accumulating over batches would.
    tg::cross_entropy(net(batch(8, 2)), labels).backward();
    tg::cross_entropy(twin(batch(8, 2)), labels).backward();

    const auto before = snapshot_all(net.parameters());
    CHECK(tg::Tape::current().size() == 0);
    CHECK_THROWS_MATCHES(net(batch(5, 3)), tg::ShapeError, Says("reshape") && Says("[5, 6]") && Says("[8, 3]"));
    CHECK(tg::Tape::current().size() == 0);  // layers 1 and 2's ops died with the unwound temporaries
    CHECK(changes_all(before, net.parameters()) == "");

    opt.step();  // the accumulated gradients are intact
    twin_opt.step();
    for (int s = 4; s < 8; ++s) {
        train_step(net, opt, s);
        train_step(twin, twin_opt, s);
        CHECK(tg::Tape::current().size() == 0);
    }
    const auto a = net.parameters(), b = twin.parameters();
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(reliability::flat(a[i]) == reliability::flat(b[i]));
}

TEST_CASE("exception safety: a backward refused half way leaves no partial gradient",
          "[reliability][exception-safety]") {
    TensorF w({0.5f, -1.0f}, true);
    w.mutable_grad() = TensorF({10.0f, 20.0f});  // an earlier accumulated gradient
    TensorF c({3.0f, 4.0f});
    // The walk reaches exp (which feeds w directly) before the mul whose saved c changed.
    TensorF loss = tg::sum(w * c) + tg::sum(tg::exp(w));
    c.mutable_value()(0) = 5.0f;
    const auto before = snapshot_all(std::vector<TensorF>{w, loss});
    CHECK_THROWS_MATCHES(loss.backward(), tg::AutogradError, Says("'mul'") && Says("modified in place"));
    CHECK(changes_all(before, std::vector<TensorF>{w, loss}) == "");
    CHECK(tg::Tape::current().size() == 5);  // the refused graph is intact (and freed with `loss`)

    // The next forward and backward work and give exactly the expected gradient.
    w.zero_grad();
    TensorF again = tg::sum(w * c) + tg::sum(tg::exp(w));
    again.backward();
    CHECK(w.grad().value()(0) == 5.0f + std::exp(0.5f));
    CHECK(w.grad().value()(1) == 4.0f + std::exp(-1.0f));
    CHECK(tg::Tape::current().size() == 5);
}

TEST_CASE("exception safety: a throwing custom backward rule leaves the graph reusable",
          "[reliability][exception-safety]") {
    TensorF x({1.0f, 2.0f}, true);
    bool fail = true;
    TensorF y = tg::record<float>("flaky", {x}, xt::xarray<float>(x.value() * 2.0f),
                                  [&fail](const tg::Backward<float>& ctx) -> tg::Grads<float> {
                                      if (fail) throw tg::ValueError("flaky: refused");
                                      return {ctx.grad() * 2.0f};
                                  });
    TensorF loss = tg::sum(tg::exp(x)) + tg::sum(y);
    CHECK_THROWS_MATCHES(loss.backward(), tg::ValueError, Says("flaky"));
    CHECK_FALSE(x.grad().defined());
    fail = false;
    loss.backward();  // nothing was freed by the failed pass
    CHECK(x.grad().value()(0) == std::exp(1.0f) + 2.0f);
    CHECK(tg::Tape::current().size() == 0);
}

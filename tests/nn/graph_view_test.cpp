// nn::to_dot: a model's graph with its leaves named by parameter and buffer names, bytes by hand.
#include <catch2/catch.hpp>
#include <tapegrad/tapegrad.hpp>

#include "autograd/dot_reader.hpp"
#include "autograd/says.hpp"

namespace tg = tapegrad;
namespace nn = tapegrad::nn;

namespace {

/// y = x * scale, the scale a buffer (saved, not trained), as batch norm keeps its statistics.
class Scale : public nn::Module<float> {
public:
    Scale() : scale_(this->register_buffer("scale", tg::full<float>({3}, 2.0F))) {}
    tg::TensorF forward(const tg::TensorF& x) override { return x * scale_; }
    std::string name() const override { return "Scale"; }

private:
    tg::TensorF scale_;
};

}  // namespace

TEST_CASE("nn::to_dot: an MLP's leaves carry its parameter names, its ops the bytes worked out by hand",
          "[nn][graph]") {
    tg::Generator gen(0);
    auto model = nn::mlp<float>({3, 4, 2}, nn::Activation::Tanh, gen);
    auto x = tg::randn<float>({5, 3}, gen);
    const tg::Labels y = {0, 1, 1, 0, 1};
    auto loss = tg::cross_entropy(model(x), y);

    const Dot dot = read_dot(nn::to_dot(loss, model, {{"x", x}}));
    CHECK(dot.vertices.size() == 9);  // x, 4 parameters, linear, tanh, linear, cross_entropy
    CHECK(dot.edges.size() == 8);     // 3 into each linear, 1 into tanh and cross_entropy
    const auto w0 = dot.id("0.weight\n[4, 3] float32");
    const auto b0 = dot.id("0.bias\n[4] float32");
    const auto w2 = dot.id("2.weight\n[2, 4] float32");
    const auto b2 = dot.id("2.bias\n[2] float32");
    const auto in = dot.id("x\n[5, 3] float32");
    // float32, 4 B an element: linear 1 saves x 15 + W 12 + b 4 = 31 elements; tanh its input
    // [5, 4]; linear 2 h 20 + W 8 + b 2 = 30; cross_entropy the logits [5, 2].
    const auto l0 = dot.id("linear\n[5, 4] float32\nsaved 124 B");
    const auto tanh = dot.id("tanh\n[5, 4] float32\nsaved 80 B");
    const auto l2 = dot.id("linear\n[5, 2] float32\nsaved 120 B");
    const auto ce = dot.id("cross_entropy\n[] float32\nsaved 40 B");
    for (auto leaf : {in, w0, b0}) REQUIRE(dot.edges_between(leaf, l0).size() == 1);
    for (auto leaf : {w2, b2}) REQUIRE(dot.edges_between(leaf, l2).size() == 1);
    CHECK(dot.edges_between(l0, tanh).size() == 1);
    CHECK(dot.edges_between(tanh, l2).size() == 1);
    CHECK(dot.edges_between(l2, ce).size() == 1);
    // The input needs no gradient: its edge is a constant's; the parameters' are bold.
    CHECK(dot.edges_between(in, l0)[0].attrs == "style=dashed, color=gray50");
    CHECK(dot.edges_between(w0, l0)[0].attrs == "style=bold");
    // x 60 + W0 48 + b0 16 + linear 80 + tanh 80 + W2 32 + b2 8 + logits 40, each once.
    CHECK(dot.graph_label == "4 ops, 5 leaves, saved 364 B");
}

TEST_CASE("nn::to_dot: a tied weight is drawn once, under its first name, with an edge per use", "[nn][graph]") {
    tg::Generator gen(1);
    auto dense = std::make_shared<nn::Dense<float>>(3, 3, gen);
    nn::Sequential<float> model{dense, std::make_shared<nn::Tanh<float>>(), dense};
    auto out = tg::sum(model(tg::randn<float>({2, 3}, gen)));
    const Dot dot = read_dot(nn::to_dot(out, model));
    const auto weight = dot.id("0.weight\n[3, 3] float32");
    CHECK(dot.with_label("2.weight\n[3, 3] float32").empty());
    std::size_t uses = 0;
    for (const auto& e : dot.edges) uses += e.from == weight;
    CHECK(uses == 2);
}

TEST_CASE("nn::to_dot: buffers are named, and the caller's names come first", "[nn][graph]") {
    tg::Generator gen(2);
    Scale scale;
    auto x = tg::randn<float>({2, 3}, gen, 0.0F, 1.0F, /*requires_grad=*/true);
    auto y = scale(x);
    const Dot named = read_dot(nn::to_dot(y, scale, {{"x", x}}));
    CHECK(named.with_label("scale\n[3] float32").size() == 1);
    CHECK(named.with_label("x\n[2, 3] float32").size() == 1);
    const Dot renamed = read_dot(nn::to_dot(y, scale, {{"gain", scale.buffers()[0]}}));
    CHECK(renamed.with_label("gain\n[3] float32").size() == 1);
    CHECK(renamed.with_label("scale\n[3] float32").empty());
    CHECK_THROWS_MATCHES(nn::to_dot(y, scale, {{"", x}}), tg::ValueError, Says("to_dot") && Says("empty name"));
}

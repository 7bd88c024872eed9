// Misuse of backward() and grad(): each is refused with a typed error whose message names the
// problem and the shapes, and leaves every tensor the user passed (and the graph) unchanged, so
// that the correct call afterwards still works.
#include <catch2/catch.hpp>

#include "autograd/says.hpp"
#include "snapshot.hpp"

using reliability::changes_all;
using reliability::snapshot_all;
using tg::TensorD;

namespace {

// y = sum(x * w) with x, w of shape [3], and w already holding a gradient.
struct Graph {
    TensorD x = TensorD({1.0, 2.0, 3.0});
    TensorD w = TensorD({0.5, -1.0, 2.0});
    TensorD prod;
    TensorD loss;
    Graph() {
        x.requires_grad_();
        w.requires_grad_();
        w.mutable_grad() = TensorD({7.0, 7.0, 7.0});
        prod = x * w;
        loss = tg::sum(prod);
    }
    std::vector<TensorD> all() const { return {x, w, prod, loss}; }
};

}  // namespace

TEST_CASE("reliability: backward of a non-scalar without a seed changes nothing", "[reliability][errors][engine]") {
    Graph g;
    const auto before = snapshot_all(g.all());
    CHECK_THROWS_MATCHES(g.prod.backward(), tg::AutogradError, Says("backward") && Says("[3]") && Says("seed"));
    CHECK(changes_all(before, g.all()) == "");
    g.loss.backward();  // the graph was not freed by the refused call
    CHECK(g.x.grad().value()(2) == 2.0);
}

TEST_CASE("reliability: backward twice through a freed graph changes nothing", "[reliability][errors][engine]") {
    Graph g;
    g.loss.backward();
    const auto before = snapshot_all(g.all());
    CHECK_THROWS_MATCHES(g.loss.backward(), tg::AutogradError,
                         Says("sum") && Says("already freed") && Says("retain_graph"));
    CHECK(changes_all(before, g.all()) == "");
    CHECK(tg::Tape::current().size() == 0);
}

TEST_CASE("reliability: an intermediate freed by another backward is refused", "[reliability][errors][engine]") {
    TensorD x({1.0, 2.0}, true);
    TensorD h = tg::exp(x);
    TensorD a = tg::sum(h), b = tg::sum(h * 2.0);
    a.backward();  // frees exp's node, which b also needs
    const auto before = snapshot_all(std::vector<TensorD>{x, h, b});
    CHECK_THROWS_MATCHES(b.backward(), tg::AutogradError, Says("exp") && Says("already freed"));
    CHECK(changes_all(before, std::vector<TensorD>{x, h, b}) == "");
}

TEST_CASE("reliability: grad() of a tensor not in the graph changes nothing", "[reliability][errors][engine]") {
    Graph g;
    TensorD outside({4.0, 5.0}, true);
    const auto before = snapshot_all(std::vector<TensorD>{g.x, g.w, outside});
    CHECK_THROWS_MATCHES(tg::grad<double>({g.loss}, {g.x, outside}, {}, /*retain_graph=*/true), tg::AutogradError,
                         Says("input 1") && Says("[2]") && Says("allow_unused"));
    CHECK(changes_all(before, std::vector<TensorD>{g.x, g.w, outside}) == "");
    const auto grads = tg::grad<double>({g.loss}, {g.x, outside}, {}, std::nullopt, false, /*allow_unused=*/true);
    CHECK(grads[0].value()(1) == -1.0);
    CHECK_FALSE(grads[1].defined());
}

TEST_CASE("reliability: a loss that does not require grad is refused", "[reliability][errors][engine]") {
    TensorD x({1.0, 2.0});
    TensorD loss = tg::sum(x * x);
    const auto before = snapshot_all(std::vector<TensorD>{x, loss});
    CHECK_THROWS_MATCHES(loss.backward(), tg::AutogradError,
                         Says("output 0 (shape [])") && Says("does not require grad"));
    CHECK_THROWS_MATCHES(tg::grad<double>({loss}, {x}), tg::AutogradError, Says("does not require grad"));
    CHECK(changes_all(before, std::vector<TensorD>{x, loss}) == "");
}

TEST_CASE("reliability: seeds that do not fit the outputs are refused", "[reliability][errors][engine]") {
    Graph g;
    const auto before = snapshot_all(g.all());
    CHECK_THROWS_MATCHES(tg::backward<double>({g.prod}, {TensorD({1.0, 1.0})}), tg::ShapeError,
                         Says("seed gradient 0 has shape [2]") && Says("[3]"));
    CHECK_THROWS_MATCHES(tg::backward<double>({g.prod, g.loss}, {TensorD({1.0, 1.0, 1.0})}), tg::ValueError,
                         Says("2 outputs but 1 seed"));
    CHECK_THROWS_MATCHES(tg::backward<double>({}, {}), tg::ValueError, Says("no outputs"));
    CHECK_THROWS_MATCHES(tg::backward<double>({TensorD()}), tg::ValueError, Says("output 0 is undefined"));
    CHECK(changes_all(before, g.all()) == "");
}

TEST_CASE("reliability: grad() of an undefined input is refused", "[reliability][errors][engine]") {
    Graph g;
    const auto before = snapshot_all(g.all());
    CHECK_THROWS_MATCHES(tg::grad<double>({g.loss}, {g.x, TensorD()}), tg::AutogradError, Says("input 1"));
    CHECK(changes_all(before, g.all()) == "");
}

TEST_CASE("reliability: requires_grad_ on a non-leaf changes nothing", "[reliability][errors][engine]") {
    Graph g;
    const auto before = snapshot_all(g.all());
    CHECK_THROWS_MATCHES(g.prod.requires_grad_(false), tg::AutogradError, Says("mul") && Says("detach"));
    CHECK(changes_all(before, g.all()) == "");
}

TEST_CASE("reliability: item() of a tensor with several elements names its shape", "[reliability][errors][engine]") {
    TensorD x({1.0, 2.0});
    CHECK_THROWS_MATCHES(x.item(), tg::ValueError, Says("item") && Says("[2]") && Says("2 elements"));
    CHECK_THROWS_MATCHES(tg::zeros<double>({0}).item(), tg::ValueError, Says("[0]"));
}

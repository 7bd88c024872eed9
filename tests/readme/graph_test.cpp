#include <catch2/catch.hpp>
#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;
namespace nn = tapegrad::nn;

TEST_CASE("to_dot draws a model's graph, tape_summary says where memory goes", "[readme]") {
    tg::Generator gen(0);
    auto model = nn::mlp<float>({4, 8, 3}, nn::Activation::ReLU, gen);
    auto x = tg::randn<float>({4, 4}, gen);
    const tg::Labels y = {0, 2, 1, 0};
    auto loss = tg::cross_entropy(model(x), y);

    // A box per op (output shape, dtype, bytes saved for backward), the leaves named by parameter.
    std::string dot = nn::to_dot(loss, model, {{"x", x}});  // write it out, then: dot -Tpng
    CHECK(dot.find("label=\"0.weight\\n[8, 4] float32\"") != std::string::npos);
    CHECK(dot.find("label=\"linear\\n[4, 8] float32\\nsaved 224 B\"") != std::string::npos);

    std::string table = tg::tape_summary();  // a row per live op: seq, op, shape, dtype, saved bytes
    CHECK(table.find("Total: 4 ops, 636 saved bytes") != std::string::npos);
    loss.backward();  // frees what the graph saved
    CHECK(tg::tape_ops().empty());
}

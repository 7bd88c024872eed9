#include <catch2/catch.hpp>
#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;
using namespace tg::indexing;  // Slice, None

TEST_CASE("indices pick rows and elements, masks select, one_hot encodes", "[readme]") {
    tg::Generator gen(0);
    auto table = tg::randn<float>({10, 4}, gen, 0.0F, 1.0F, /*requires_grad=*/true);
    tg::Indices tokens = {3, 0, 3, -1};              // int64; -1 is the last row
    auto rows = tg::index_select(table, 0, tokens);  // [4, 4]: an embedding lookup
    tg::sum(rows).backward();
    CHECK(table.grad().value()(3, 0) == 2.0F);  // row 3 was taken twice: its gradients add up

    tg::TensorF scores = {{0.1F, 0.7F, 0.2F}, {0.5F, 0.3F, 0.2F}};
    auto picked = tg::gather(scores, 1, {{1, 2}, {0, 0}});  // y[i][j] = scores[i][idx[i][j]]
    CHECK(picked.value()(0, 0) == 0.7F);
    tg::Mask keep = {true, false, true};                         // broadcast over the rows
    CHECK(tg::masked_select(scores, keep).numel() == 4);         // 1-d
    CHECK(tg::index(scores, {0, Slice(1, None)}).numel() == 2);  // scores[0, 1:]

    tg::Labels y = {2, 0};
    tg::TensorF targets = tg::one_hot(y, 3).to<float>();  // int64 [2, 3], then float32
    tg::Indices order = tg::randperm(10, gen);            // and randint(low, high, shape, gen)
    CHECK(targets.value()(0, 2) == 1.0F);
    CHECK(order.numel() == 10);
}

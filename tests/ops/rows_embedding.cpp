// Rows for the embedding lookup (ops/embedding.hpp). The only differentiable input is the weight
// table; the ids of a row are built from its shape (ids_into: repeats once there are more ids than
// rows). The reference copies rows with plain index arithmetic. PyTorch's gradient rule leaves the
// padding row out although the lookup reads it, so the padding rows multiply the output by a
// constant mask that zeroes the padding positions: finite differences then see what the rule says
// (no dependence on that row); tests/ops/embedding_test.cpp checks the padding positions' values
// and the zero gradient directly.
#include <cstdint>
#include <optional>

#include "op_table.hpp"
#include "reference.hpp"

namespace optable {

namespace {

/// Ids of `shape` into a table of n rows: element k holds (5k + 2) mod n (none when n is 0).
tg::Indices ids_into(const Shape& shape, std::size_t n) {
    tg::Indices idx = tg::Indices::full(shape, 0);
    for (std::size_t k = 0; k < idx.numel(); ++k) idx[k] = static_cast<std::int64_t>((5 * k + 2) % n);
    return idx;
}

/// The [2, 3] ids used by most rows (a table of 0 rows gets a [0] index).
tg::Indices grid_ids(const Shape& weight) {
    return weight[0] == 0 ? tg::Indices::full({0}, 0) : ids_into({2, 3}, weight[0]);
}

/// out[j, :] = w[idx[j], :], zero where idx[j] is `padding` (when masked).
Array lookup_ref(const Array& w, const tg::Indices& idx, std::optional<std::int64_t> padding = std::nullopt) {
    const std::size_t dim = w.shape()[1];
    Shape shape = idx.shape();
    shape.push_back(dim);
    Array out = ref::empty(shape);
    for (std::size_t j = 0; j < idx.numel(); ++j) {
        for (std::size_t k = 0; k < dim; ++k) {
            out.data()[j * dim + k] = padding == idx[j] ? 0.0 : w.data()[static_cast<std::size_t>(idx[j]) * dim + k];
        }
    }
    return out;
}

/// embedding(idx, w, padding) times 0 at the padding positions (see the file's comment).
template <class Tn>
Tn masked_lookup(const Tn& w, const tg::Indices& idx, std::int64_t padding) {
    using T = typename Tn::value_type;
    Shape shape = idx.shape();
    shape.push_back(1);
    xt::xarray<T> mask = xt::xarray<T>::from_shape(shape);
    const std::int64_t resolved = padding < 0 ? padding + static_cast<std::int64_t>(w.shape()[0]) : padding;
    for (std::size_t j = 0; j < idx.numel(); ++j) mask.data()[j] = idx[j] == resolved ? T(0) : T(1);
    return tg::embedding(idx, w, padding) * Tn(std::move(mask));
}

ErrorCase error(std::string what, std::vector<Shape> shapes, std::function<void(const tg::TensorD&)> call,
                Expect expect, std::vector<std::string> fragments) {
    return error_case(std::move(what), std::move(shapes), std::move(call), expect, std::move(fragments));
}

std::vector<OpInfo> embedding_rows() {
    return {
        OpInfo{
            .name = "embedding ([2, 3] ids, repeated)",
            .op = "embedding",
            .readme = {"`embedding(idx, weight[, padding_idx])`",
                       "weight's rows at the ids: y has shape idx.shape + [embedding_dim]",
                       "dweight[r] = sum of g at the positions whose id is r; 0 for the padding row"},
            .fn = op([](const auto& in) { return tg::embedding(grid_ids(in[0].shape()), in[0]); }),
            .cases = {{{5, 3}}, {{2, 4}}, {{1, 1}}, {{4, 0}}, {{0, 3}}},
            .reference = [](const std::vector<Array>& x) { return lookup_ref(x[0], grid_ids(ref::shape_of(x[0]))); },
            .errors = {error("id past the end", {{3, 2}},
                             [](const auto& w) {
                                 tg::embedding({0, 3}, w);
                             },
                             Expect::Value, {"embedding", "index 3", "position 1", "num_embeddings 3"}),
                       error("negative id", {{3, 2}},
                             [](const auto& w) {
                                 tg::embedding({{0, 1}, {-1, 2}}, w);
                             },
                             Expect::Value, {"embedding", "index -1", "position 2", "num_embeddings 3"}),
                       error("1-d weight", {{3}}, [](const auto& w) { tg::embedding({0}, w); }, Expect::Shape,
                             {"embedding", "weight", "[3]", "2 dimensions"}),
                       error("padding_idx past the end", {{3, 2}}, [](const auto& w) { tg::embedding({0}, w, 3); },
                             Expect::Value, {"embedding", "padding_idx 3", "num_embeddings 3"}),
                       error("padding_idx before the start", {{3, 2}}, [](const auto& w) { tg::embedding({0}, w, -4); },
                             Expect::Value, {"embedding", "padding_idx -4", "num_embeddings 3"})}},
        OpInfo{.name = "embedding (a 0-d id gives [embedding_dim])",
               .op = "embedding",
               .fn = op([](const auto& in) {
                   return tg::embedding(tg::Indices::full({}, static_cast<std::int64_t>(in[0].shape()[0] - 1)), in[0]);
               }),
               .cases = {{{4, 3}}, {{1, 2}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       return lookup_ref(x[0], tg::Indices::full({}, static_cast<std::int64_t>(x[0].shape()[0] - 1)));
                   }},
        OpInfo{.name = "embedding (no ids: [2, 0])",
               .op = "embedding",
               .fn = op([](const auto& in) {
                   return tg::embedding(tg::Indices::full({2, 0}, 0), in[0]);
               }),
               .cases = {{{3, 2}}, {{1, 4}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       return lookup_ref(x[0], tg::Indices::full({2, 0}, 0));
                   }},
        OpInfo{.name = "embedding (padding_idx 2, the padding positions masked)",
               .op = "embedding",
               .fn = op([](const auto& in) {
                   return masked_lookup(in[0], ids_into({3, 4}, in[0].shape()[0]), 2);
               }),
               .cases = {{{5, 3}}, {{3, 2}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       return lookup_ref(x[0], ids_into({3, 4}, x[0].shape()[0]), 2);
                   }},
        OpInfo{.name = "embedding (padding_idx -1 is the last row, masked)",
               .op = "embedding",
               .fn = op([](const auto& in) { return masked_lookup(in[0], ids_into({7}, in[0].shape()[0]), -1); }),
               .cases = {{{4, 3}}, {{2, 2}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       const std::size_t n = x[0].shape()[0];
                       return lookup_ref(x[0], ids_into({7}, n), static_cast<std::int64_t>(n - 1));
                   }},
    };
}

const RegisterFamily registered{{.name = "embedding", .order = 28, .rows = embedding_rows}};

}  // namespace

}  // namespace optable

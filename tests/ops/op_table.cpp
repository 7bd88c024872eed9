#include "op_table.hpp"

#include <algorithm>
#include <cmath>

namespace optable {

namespace {

bool near_kink(double v, const Domain& d) {
    return std::any_of(d.avoid.begin(), d.avoid.end(), [&](double k) { return std::abs(v - k) < d.margin; });
}

bool too_close(const Array& a, double margin) {
    std::vector<double> v(a.begin(), a.end());
    std::sort(v.begin(), v.end());
    for (std::size_t i = 1; i < v.size(); ++i) {
        if (v[i] - v[i - 1] < margin) return true;
    }
    return false;
}

Array sample(const Shape& shape, const Domain& d, tg::Generator& gen) {
    Array out = Array::from_shape(shape);
    do {
        for (auto& v : out) {
            do {
                v = gen.uniform(d.low, d.high);
            } while (near_kink(v, d));
        }
    } while (d.distinct && too_close(out, d.margin));
    return out;
}

}  // namespace

const std::vector<OpInfo>& op_table() {
    static const std::vector<OpInfo> table = [] {
        std::vector<OpInfo> rows;
        for (auto family : {elementwise_rows, reduce_shape_rows, matmul_softmax_rows, loss_rows}) {
            for (auto& row : family()) rows.push_back(std::move(row));
        }
        return rows;
    }();
    return table;
}

Inputs64 make_inputs(const OpInfo& row, const std::vector<Shape>& shapes, std::uint64_t seed) {
    tg::Generator gen(seed);
    Inputs64 inputs;
    for (std::size_t k = 0; k < shapes.size(); ++k) {
        const Domain& d = row.domains.size() == 1 ? row.domains[0] : k < row.domains.size() ? row.domains[k] : Domain{};
        const bool grad = row.differentiable.empty() || row.differentiable.at(k);
        inputs.emplace_back(sample(shapes[k], d, gen), grad);
    }
    return inputs;
}

tg::Labels labels_for(const Shape& shape) {
    tg::Labels labels;
    if (shape.size() != 2) return labels;
    for (std::size_t i = 0; i < shape[0]; ++i) labels.push_back(static_cast<std::int64_t>((2 * i + 1) % shape[1]));
    return labels;
}

}  // namespace optable

#include "op_table.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <tuple>

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

namespace {

std::vector<Family>& registry() {
    static std::vector<Family> families;
    return families;
}

}  // namespace

RegisterFamily::RegisterFamily(Family family, std::source_location where) {
    family.file = where.file_name();
    registry().push_back(std::move(family));
}

std::vector<const Family*> families() {
    std::vector<const Family*> out;
    for (const auto& f : registry()) out.push_back(&f);
    std::sort(out.begin(), out.end(), [](const Family* a, const Family* b) {
        return std::tie(a->order, a->name) < std::tie(b->order, b->name);
    });
    return out;
}

const std::vector<OpInfo>& op_table() {
    static const std::vector<OpInfo> table = [] {
        std::vector<OpInfo> rows;
        for (const Family* family : families()) {
            for (auto& row : family->rows()) {
                if (row.name.empty()) row.name = row.op;
                if (row.op.empty() || !row.fn.f64 || !row.fn.f32 || !row.reference || row.cases.empty()) {
                    throw std::logic_error(fmt::format("op table ({}): row \"{}\" lacks its op, fn, reference or cases",
                                                       family->file, row.name));
                }
                rows.push_back(std::move(row));
            }
        }
        return rows;
    }();
    return table;
}

std::string readme_table() {
    std::string out = "| op | forward | backward |\n|---|---|---|\n";
    for (const auto& row : op_table()) {
        const auto& r = row.readme;
        if (!r.call.empty()) out += fmt::format("| {} | {} | {} |\n", r.call, r.forward, r.backward);
    }
    return out;
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
    if (shape.size() != 2) return {};
    tg::Labels labels = tg::Labels::full({shape[0]}, 0);
    for (std::size_t i = 0; i < shape[0]; ++i) labels[i] = static_cast<std::int64_t>((2 * i + 1) % shape[1]);
    return labels;
}

}  // namespace optable

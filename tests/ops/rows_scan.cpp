// Rows for the scans of ops/scan.hpp: cumsum, cumprod and logcumsumexp. The reference folds each
// slice from its first element with a plain loop (logcumsumexp: the log of the running sum of e^x,
// which the inputs here keep finite). cumprod's exact gradient with zeros is tested in
// reduce_test.cpp, where the inputs hold zeros.
#include <cmath>
#include <functional>

#include "op_table.hpp"
#include "reference.hpp"

namespace optable {

namespace {

/// out[..., k, ...] = fold of x[..., 0..k, ...] along axis, each element by a separate loop.
Array scan_ref(const Array& x, std::size_t axis, const std::function<double(double, double)>& fold) {
    const ref::Index sx = ref::shape_of(x);
    Array out = ref::empty(sx);
    for (std::size_t k = 0; k < x.size(); ++k) {
        ref::Index idx = ref::unravel(k, sx);
        const std::size_t end = idx[axis];
        idx[axis] = 0;
        double acc = x.data()[ref::ravel(idx, sx)];
        for (std::size_t j = 1; j <= end; ++j) {
            idx[axis] = j;
            acc = fold(acc, x.data()[ref::ravel(idx, sx)]);
        }
        out.data()[k] = acc;
    }
    return out;
}

Array cumsum_ref(const Array& x, std::size_t axis) {
    return scan_ref(x, axis, [](double a, double v) { return a + v; });
}

Array cumprod_ref(const Array& x, std::size_t axis) {
    return scan_ref(x, axis, [](double a, double v) { return a * v; });
}

Array logcumsumexp_ref(const Array& x, std::size_t axis) {
    const Array sums =
        scan_ref(ref::map(x, [](double v) { return std::exp(v); }), axis, [](double a, double v) { return a + v; });
    return ref::map(sums, [](double s) { return std::log(s); });
}

std::vector<OpInfo> scan_rows() {
    const std::vector<std::vector<Shape>> matrix = {{{2, 3}}, {{3, 1}}, {{2, 3, 2}}, {{0, 3}}, {{2, 0}}};
    return {
        OpInfo{.name = "cumsum (dim 1)",
               .op = "cumsum",
               .readme = {"`cumsum(x, dim)`", "running Σ along dim", "dxₖ = Σ_{j≥k} gⱼ (reversed cumsum)"},
               .fn = op([](const auto& in) { return tg::cumsum(in[0], 1); }),
               .cases = matrix,
               .reference = [](const std::vector<Array>& x) { return cumsum_ref(x[0], 1); },
               .errors = {error_case("dim out of range", {{2, 3}}, [](const tg::TensorD& x) { tg::cumsum(x, 2); },
                                     Expect::Value, {"cumsum", "dim 2", "[2, 3]"}),
                          error_case("0-d x has no dim", {{}}, [](const tg::TensorD& x) { tg::cumsum(x, 0); },
                                     Expect::Value, {"cumsum", "[]"})}},
        OpInfo{.name = "cumsum (dim -3)",
               .op = "cumsum",
               .fn = op([](const auto& in) { return tg::cumsum(in[0], -3); }),
               .cases = {{{3, 2, 2}}, {{1, 2, 3}}},
               .reference = [](const std::vector<Array>& x) { return cumsum_ref(x[0], 0); }},
        OpInfo{.name = "cumprod (dim 1)",
               .op = "cumprod",
               .readme = {"`cumprod(x, dim)`", "running Π along dim",
                          "dxₖ = Σ_{j≥k} gⱼ Π_{i≤j, i≠k} xᵢ, exact with zeros (O(n²) per slice under create_graph)"},
               .fn = op([](const auto& in) { return tg::cumprod(in[0], 1); }),
               .cases = matrix,
               .reference = [](const std::vector<Array>& x) { return cumprod_ref(x[0], 1); },
               .errors = {error_case("dim out of range", {{2, 3}}, [](const tg::TensorD& x) { tg::cumprod(x, -3); },
                                     Expect::Value, {"cumprod", "dim -3", "[2, 3]"})}},
        OpInfo{.name = "cumprod (dim 0)",
               .op = "cumprod",
               .fn = op([](const auto& in) { return tg::cumprod(in[0], 0); }),
               .cases = {{{4}}, {{3, 2}}, {{1}}, {{3, 2, 2}}},
               .reference = [](const std::vector<Array>& x) { return cumprod_ref(x[0], 0); }},
        OpInfo{.name = "logcumsumexp (dim -1)",
               .op = "logcumsumexp",
               .readme = {"`logcumsumexp(x, dim)`", "running log Σ eˣ along dim, stable",
                          "dxₖ = Σ_{j≥k} gⱼ e^(xₖ - yⱼ), in log space (PyTorch's)"},
               .fn = op([](const auto& in) { return tg::logcumsumexp(in[0], -1); }),
               .cases = matrix,
               .reference = [](const std::vector<Array>& x) { return logcumsumexp_ref(x[0], x[0].dimension() - 1); },
               .errors = {error_case("dim out of range", {{2, 3}}, [](const tg::TensorD& x) { tg::logcumsumexp(x, 2); },
                                     Expect::Value, {"logcumsumexp", "dim 2", "[2, 3]"})}},
        OpInfo{.name = "logcumsumexp (dim 0)",
               .op = "logcumsumexp",
               .fn = op([](const auto& in) { return tg::logcumsumexp(in[0], 0); }),
               .cases = {{{4}}, {{3, 2}}, {{2, 2, 3}}},
               .reference = [](const std::vector<Array>& x) { return logcumsumexp_ref(x[0], 0); }},
    };
}

const RegisterFamily registered{{.name = "scan", .order = 22, .rows = scan_rows}};

}  // namespace

}  // namespace optable

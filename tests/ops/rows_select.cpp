// Rows for the differentiable selection ops (ops/select.hpp): where, masked_fill, maximum, minimum
// and clamp with tensor bounds. The op table's inputs are tensors, so each row's masks are fixed
// and closed over by its lambda; the references read the same masks. Ties (a = b, x at a bound)
// have no derivative to check by finite differences: the random inputs are continuous (a tie within
// the step has probability ~1e-6 per pair), and select_test.cpp checks ties against closed forms.
#include <algorithm>
#include <optional>

#include "op_table.hpp"
#include "reference.hpp"

namespace optable {

namespace {

/// The mask as 0/1 values of its shape, for the references.
Array as_array(const tg::Mask& m) {
    Array out = ref::empty(m.shape());
    for (std::size_t i = 0; i < m.numel(); ++i) out.data()[i] = m[i] ? 1.0 : 0.0;
    return out;
}

/// f(a, b, c) with numpy broadcasting of all three, written out.
template <class F>
Array zip3(const Array& a, const Array& b, const Array& c, F f) {
    const std::vector<ref::Index> shapes = {ref::shape_of(a), ref::shape_of(b), ref::shape_of(c)};
    std::size_t n = 0;
    for (const auto& s : shapes) n = std::max(n, s.size());
    ref::Index out_shape(n, 1);
    for (const auto& s : shapes) {
        for (std::size_t i = 0; i < s.size(); ++i)
            out_shape[i + n - s.size()] = std::max(out_shape[i + n - s.size()], s[i]);
    }
    for (const auto& s : shapes) {  // a size-0 dim wins over 1
        for (std::size_t i = 0; i < s.size(); ++i) {
            if (s[i] == 0) out_shape[i + n - s.size()] = 0;
        }
    }
    Array out = ref::empty(out_shape);
    auto at = [&](const Array& x, const ref::Index& s, const ref::Index& idx) {
        ref::Index sub(s.size());
        for (std::size_t i = 0; i < s.size(); ++i) sub[i] = s[i] == 1 ? 0 : idx[i + n - s.size()];
        return x.data()[ref::ravel(sub, s)];
    };
    for (std::size_t k = 0; k < out.size(); ++k) {
        const ref::Index idx = ref::unravel(k, out_shape);
        out.data()[k] = f(at(a, shapes[0], idx), at(b, shapes[1], idx), at(c, shapes[2], idx));
    }
    return out;
}

Array zero_d(double v) {
    Array out = ref::empty({});
    out.data()[0] = v;
    return out;
}

/// f(a, b) with numpy broadcasting (ref::zip does not take size-0 dims).
template <class F>
Array zip2(const Array& a, const Array& b, F f) {
    return zip3(a, b, zero_d(0), [f](double x, double y, double) { return f(x, y); });
}

double choose(double m, double a, double b) {
    return m != 0 ? a : b;
}

const tg::Mask m3 = {true, false, true};
const tg::Mask m21 = [] {  // a column literal {{true}, {false}} is ambiguous: built flat, reshaped
    tg::Mask m = {true, false};
    m.mutable_value().reshape({2, 1});
    return m;
}();
const tg::Mask m0 = tg::Mask::full({}, false);

ErrorCase undefined_b(const std::string& op, std::function<void(const tg::TensorD&, const tg::TensorD&)> call) {
    return {"undefined b",
            {{2}},
            [call](const Inputs64& in) { call(in[0], tg::TensorD()); },
            Expect::Value,
            {op, "undefined"}};
}

std::vector<OpInfo> where_rows() {
    return {
        OpInfo{.name = "where (condition [3])",
               .op = "where",
               .readme = {"`where(m, a, b)`",
                          "a where the Mask m holds, else b; m, a, b broadcast (a or b may be a scalar)",
                          "da = where(m, g, 0), db = where(m, 0, g)"},
               .fn = op([](const auto& in) { return tg::where(m3, in[0], in[1]); }),
               .cases = {{{2, 3}, {2, 3}}, {{3}, {}}, {{}, {2, 3}}, {{4, 1}, {1, 3}}, {{1}, {1}}, {{0, 3}, {3}}},
               .reference = [](const std::vector<Array>& x) { return zip3(as_array(m3), x[0], x[1], choose); },
               .errors = {{"shapes that do not broadcast",
                           {{2, 4}, {}},
                           [](const Inputs64& in) { tg::where(m3, in[0], in[1]); },
                           Expect::Shape,
                           {"where", "condition has shape [3]", "a has shape [2, 4]", "b has shape []"}},
                          undefined_b("where", [](const auto& a, const auto& b) { tg::where(m3, a, b); })}},
        OpInfo{.name = "where (condition [2, 1] wider than a and b)",
               .op = "where",
               .fn = op([](const auto& in) { return tg::where(m21, in[0], in[1]); }),
               .cases = {{{3}, {3}}, {{}, {}}, {{1}, {2, 1}}, {{2, 3}, {}}},
               .reference = [](const std::vector<Array>& x) { return zip3(as_array(m21), x[0], x[1], choose); }},
        OpInfo{.name = "where (0-d condition)",
               .op = "where",
               .fn = op([](const auto& in) { return tg::where(m0, in[0], in[1]); }),
               .cases = {{{2, 2}, {2, 2}}, {{}, {3}}},
               .reference = [](const std::vector<Array>& x) { return zip3(as_array(m0), x[0], x[1], choose); }},
        OpInfo{.name = "where (scalar b)",
               .op = "where",
               .fn = op([](const auto& in) { return tg::where(m3, in[0], 0.25); }),
               .cases = {{{2, 3}}, {{}}, {{1}}, {{0, 1}}},
               .reference = [](const std::vector<Array>& x) { return zip3(as_array(m3), x[0], zero_d(0.25), choose); }},
        OpInfo{
            .name = "where (scalar a)",
            .op = "where",
            .fn = op([](const auto& in) { return tg::where(m21, -0.5, in[0]); }),
            .cases = {{{2, 3}}, {{}}, {{2, 1}}},
            .reference = [](const std::vector<Array>& x) { return zip3(as_array(m21), zero_d(-0.5), x[0], choose); }},
        OpInfo{.name = "masked_fill (mask [3])",
               .op = "masked_fill",
               .readme =
                   {"`masked_fill(x, m, v)`",
                    "v where the Mask m holds, else x; the shape of x and m broadcast, as PyTorch's (composed: where)",
                    "dx = where(m, 0, g)"},
               .fn = op([](const auto& in) { return tg::masked_fill(in[0], m3, -1.5); }),
               .cases = {{{2, 3}}, {{3}}, {{}}, {{1}}, {{0, 3}}},
               .reference = [](const std::vector<Array>& x) { return zip3(as_array(m3), zero_d(-1.5), x[0], choose); },
               .errors = {{"shapes that do not broadcast",
                           {{2, 4}},
                           [](const Inputs64& in) { tg::masked_fill(in[0], m3, 0.0); },
                           Expect::Shape,
                           {"masked_fill", "x has shape [2, 4]", "mask has shape [3]"}},
                          {"undefined x",
                           {},
                           [](const Inputs64&) { tg::masked_fill(tg::TensorD(), m3, 0.0); },
                           Expect::Value,
                           {"masked_fill", "x is an undefined tensor"}}}},
    };
}

const std::vector<std::vector<Shape>> binary_cases = {{{2, 3}, {2, 3}}, {{2, 3}, {3}}, {{3, 1}, {1, 4}},
                                                      {{}, {2, 2}},     {{2, 1}, {1}}, {{0, 3}, {3}}};

template <class F>
OpInfo extremum_row(OpInfo row, F f, double (*r)(double, double)) {
    const std::string name = row.op;
    row.fn = op([f](const auto& in) { return f(in[0], in[1]); });
    row.cases = binary_cases;
    row.reference = [r](const std::vector<Array>& x) { return zip2(x[0], x[1], r); };
    row.errors = {{"shapes that do not broadcast",
                   {{2, 3}, {4}},
                   [f](const Inputs64& in) { f(in[0], in[1]); },
                   Expect::Shape,
                   {name, "[2, 3]", "[4]"}},
                  undefined_b(name, [f](const auto& a, const auto& b) { f(a, b); })};
    return row;
}

const Domain x_domain{-2.0, 2.0};
const Domain low_domain{-1.0, -0.2};
const Domain high_domain{0.2, 1.0};

double clamp_ref(double x, double low, double high) {
    return std::min(std::max(x, low), high);
}

std::vector<OpInfo> extremum_clamp_rows() {
    const std::vector<std::vector<Shape>> ternary_cases = {
        {{2, 3}, {2, 3}, {2, 3}}, {{2, 3}, {3}, {}}, {{}, {2, 1}, {1, 3}}, {{3}, {}, {}}, {{0, 3}, {3}, {1}}};
    return {
        extremum_row(
            {.op = "maximum",
             .readme = {"`maximum(a, b)`, `minimum(a, b)`", "the larger / smaller of a and b, NaN if either is NaN",
                        "g to the larger (smaller); g/2 to each on a tie; g to both where one is NaN (PyTorch's)"}},
            [](const auto& a, const auto& b) { return tg::maximum(a, b); },
            [](double a, double b) { return a > b ? a : b; }),
        extremum_row(
            {.op = "minimum"}, [](const auto& a, const auto& b) { return tg::minimum(a, b); },
            [](double a, double b) { return a < b ? a : b; }),
        OpInfo{.name = "clamp (tensor low and high)",
               .op = "clamp",
               .readme = {"`clamp(x, low, high)` (tensors; either may be `std::nullopt`)",
                          "min(max(x, low), high), x, low, high broadcast; high where low > high",
                          "dx = g where low ≤ x ≤ high; dlow = g where x < low < high; dhigh = g where x > high or "
                          "high < low (PyTorch's)"},
               .fn = op([](const auto& in) { return tg::clamp(in[0], in[1], in[2]); }),
               .cases = ternary_cases,
               .domains = {x_domain, low_domain, high_domain},
               .reference = [](const std::vector<Array>& x) { return zip3(x[0], x[1], x[2], clamp_ref); },
               .errors = {{"shapes that do not broadcast",
                           {{2, 3}, {4}, {}},
                           [](const Inputs64& in) { tg::clamp(in[0], in[1], in[2]); },
                           Expect::Shape,
                           {"clamp", "x has shape [2, 3]", "low has shape [4]", "high has shape []"}},
                          {"neither bound",
                           {{2}},
                           [](const Inputs64& in) { tg::clamp(in[0], std::nullopt, std::nullopt); },
                           Expect::Value,
                           {"clamp", "at least one of low and high"}},
                          {"undefined low",
                           {{2}, {2}},
                           [](const Inputs64& in) { tg::clamp(in[0], tg::TensorD(), in[1]); },
                           Expect::Value,
                           {"clamp", "low is an undefined tensor"}}}},
        OpInfo{.name = "clamp (tensor low above high: the value is high)",
               .op = "clamp",
               .fn = op([](const auto& in) { return tg::clamp(in[0], in[1], in[2]); }),
               .cases = {{{2, 3}, {2, 3}, {2, 3}}, {{3}, {}, {2, 1}}},
               .domains = {x_domain, high_domain, low_domain},
               .reference = [](const std::vector<Array>& x) { return zip3(x[0], x[1], x[2], clamp_ref); }},
        OpInfo{.name = "clamp (tensor low only)",
               .op = "clamp",
               .fn = op([](const auto& in) { return tg::clamp(in[0], in[1]); }),
               .cases = {{{2, 3}, {2, 3}}, {{2, 3}, {}}, {{}, {3}}, {{0}, {1}}},
               .domains = {x_domain, low_domain},
               .reference =
                   [](const std::vector<Array>& x) {
                       return zip2(x[0], x[1], [](double v, double l) { return std::max(v, l); });
                   }},
        OpInfo{.name = "clamp (tensor high only)",
               .op = "clamp",
               .fn = op([](const auto& in) { return tg::clamp(in[0], std::nullopt, in[1]); }),
               .cases = {{{2, 3}, {2, 3}}, {{3, 1}, {3}}, {{}, {}}},
               .domains = {x_domain, high_domain},
               .reference =
                   [](const std::vector<Array>& x) {
                       return zip2(x[0], x[1], [](double v, double h) { return std::min(v, h); });
                   }},
    };
}

std::vector<OpInfo> select_rows() {
    std::vector<OpInfo> rows = where_rows();
    for (auto& row : extremum_clamp_rows()) rows.push_back(std::move(row));
    return rows;
}

}  // namespace

const RegisterFamily registered{{.name = "select", .order = 14, .rows = select_rows}};

}  // namespace optable

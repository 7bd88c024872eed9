#include <tapegrad/autograd/gradcheck.hpp>

#include <cmath>
#include <utility>

#include <tapegrad/autograd/engine.hpp>
#include <tapegrad/autograd/factories.hpp>
#include <tapegrad/autograd/forward_ad.hpp>
#include <tapegrad/autograd/grad_mode.hpp>
#include <tapegrad/autograd/random.hpp>

namespace tapegrad {

namespace {

using Inputs = std::vector<TensorD>;
using Values = std::vector<double>;
// The checker works on functions with several outputs, compared as one flat vector:
// gradgradcheck's function returns one gradient per input.
using MultiFunction = std::function<Inputs(const Inputs&)>;

std::string index_str(std::size_t flat, const Shape& shape) {
    std::vector<std::size_t> index(shape.size());
    for (std::size_t i = shape.size(); i-- > 0;) {
        index[i] = flat % shape[i];
        flat /= shape[i];
    }
    return fmt::format("[{}]", fmt::join(index, ", "));
}

// A fresh leaf with the same value and flag, so nothing the check does reaches the user's tensor.
TensorD copy_of(const TensorD& x) {
    return TensorD(xt::xarray<double>(x.value()), x.requires_grad());
}

Values random_unit(Generator& gen, std::size_t n) {
    Values v(n);
    double norm = 0;
    for (auto& e : v) {
        e = gen.normal();
        norm += e * e;
    }
    for (auto& e : v) e /= std::sqrt(norm);
    return v;
}

double dot(const Values& a, const double* b) {
    double s = 0;
    for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
    return s;
}

void check_options(const char* what, const GradcheckOptions& o) {
    if (!(o.eps > 0) || !(o.atol >= 0) || !(o.rtol >= 0)) {
        fail<ValueError>("{}: eps {} must be positive and atol {}, rtol {} non-negative", what, o.eps, o.atol, o.rtol);
    }
    if (o.fast_mode && o.directions == 0) fail<ValueError>("{}: fast mode needs at least one direction", what);
    if (o.check_forward_ad && fwad::current_level() != 0) {
        fail<ValueError>("{}: check_forward_ad opens a dual level, and one is open on this thread (one at a time)",
                         what);
    }
}

/// First-order check of a multi-output function: analytic Jacobian (or u^T J v) from the tape
/// against central differences.
class Checker {
public:
    Checker(MultiFunction f, const Inputs& inputs, std::vector<std::string> names, const GradcheckOptions& options,
            const char* what)
        : f_(std::move(f)), names_(std::move(names)), options_(options) {
        result_.what = what;
        result_.eps = options.eps;
        result_.atol = options.atol;
        result_.rtol = options.rtol;
        for (std::size_t i = 0; i < inputs.size(); ++i) {
            inputs_.push_back(copy_of(inputs[i]));
            if (inputs[i].requires_grad()) checked_.push_back(i);
        }
        outputs_ = f_(inputs_);  // recorded: the analytic side differentiates it
        for (std::size_t k = 0; k < outputs_.size(); ++k) {
            if (!outputs_[k].defined()) fail<ValueError>("{}: output {} of the function is undefined", what, k);
            out_shapes_.push_back(outputs_[k].shape());
            for (std::size_t j = 0; j < outputs_[k].numel(); ++j) out_names_.push_back(output_name(k, j));
        }
    }

    GradcheckResult run() {
        if (options_.fast_mode) {
            check_directions();
        } else {
            const auto rows = analytic_jacobian();
            for (std::size_t c = 0; c < checked_.size(); ++c) check_input(checked_[c], rows, c);
        }
        result_.ok = result_.mismatches == 0;
        return std::move(result_);
    }

private:
    std::string output_name(std::size_t k, std::size_t j) const {
        const std::string index = index_str(j, outputs_[k].shape());
        return outputs_.size() == 1 ? index : fmt::format("output {} {}", k, index);
    }

    // All outputs, flattened (their tangents instead when `tangents`: zeros for none).
    Values flatten(const Inputs& outs, bool tangents) const {
        Values flat;
        flat.reserve(out_names_.size());
        for (std::size_t k = 0; k < outs.size(); ++k) {
            if (k >= out_shapes_.size() || !outs[k].defined() || outs[k].shape() != out_shapes_[k]) {
                fail<ValueError>("{}: the function's outputs changed shape between evaluations", result_.what);
            }
            const TensorD tangent = tangents ? fwad::unpack_dual(outs[k]).tangent : TensorD();
            if (!tangents) {
                flat.insert(flat.end(), outs[k].value().begin(), outs[k].value().end());
            } else if (tangent.defined()) {
                flat.insert(flat.end(), tangent.value().begin(), tangent.value().end());
            } else {
                flat.insert(flat.end(), outs[k].numel(), 0.0);
            }
        }
        if (flat.size() != out_names_.size()) fail<ValueError>("{}: the function's output count changed", result_.what);
        return flat;
    }

    // All outputs, flattened, of one forward under NoGradGuard.
    Values evaluate(const Inputs& xs) const {
        NoGradGuard no_grad;
        return flatten(f_(xs), false);
    }

    // J v for a tangent v on input i (all outputs flattened), in forward mode. Grad mode stays as
    // the caller has it: gradgradcheck's function differentiates inside (forward over reverse).
    Values forward_jvp(std::size_t i, const Values& direction) const {
        fwad::DualLevel level;
        Inputs xs = inputs_;
        xt::xarray<double> v = xt::xarray<double>::from_shape(inputs_[i].shape());
        std::copy(direction.begin(), direction.end(), v.begin());
        xs[i] = fwad::make_dual(inputs_[i], TensorD(std::move(v)));
        return flatten(f_(xs), true);
    }

    // d<seed, all outputs flattened>/d input for every checked input (zeros where unused).
    std::vector<Values> vjp(const Values& seed) const {
        Inputs roots, root_seeds, wrt;
        auto from = seed.begin();
        for (std::size_t k = 0; k < outputs_.size(); ++k) {
            const auto to = from + static_cast<std::ptrdiff_t>(numel("gradcheck", out_shapes_[k]));
            if (outputs_[k].requires_grad()) {  // else it depends on no checked input: zero rows
                roots.push_back(outputs_[k]);
                xt::xarray<double> s = xt::xarray<double>::from_shape(out_shapes_[k]);
                std::copy(from, to, s.begin());
                root_seeds.emplace_back(std::move(s));
            }
            from = to;
        }
        for (std::size_t i : checked_) wrt.push_back(inputs_[i]);
        std::vector<Values> out(checked_.size());
        const Grads<double> grads =
            roots.empty() ? Grads<double>(wrt.size()) : grad<double>(roots, wrt, root_seeds, true, false, true);
        for (std::size_t c = 0; c < checked_.size(); ++c) {
            out[c].assign(wrt[c].numel(), 0.0);
            if (grads[c].defined()) std::copy(grads[c].value().begin(), grads[c].value().end(), out[c].begin());
        }
        return out;
    }

    // Row r of the Jacobian of all outputs, from a one-hot seed: rows[r][c] has one entry per
    // element of checked input c.
    std::vector<std::vector<Values>> analytic_jacobian() const {
        std::vector<std::vector<Values>> rows;
        for (std::size_t r = 0; r < out_names_.size(); ++r) {
            Values onehot(out_names_.size(), 0.0);
            onehot[r] = 1.0;
            rows.push_back(vjp(onehot));
        }
        return rows;
    }

    // (f(x + eps d) - f(x - eps d)) / 2 eps, with input i of a copy moved along direction d.
    Values central_difference(std::size_t i, const Values& direction) const {
        Inputs xs = inputs_;
        const double eps = options_.eps;
        auto shifted = [&](double sign) {
            xt::xarray<double> v = inputs_[i].value();
            for (std::size_t e = 0; e < direction.size(); ++e) v.data()[e] += sign * eps * direction[e];
            xs[i] = TensorD(std::move(v), inputs_[i].requires_grad());
            return evaluate(xs);
        };
        const Values plus = shifted(1.0), minus = shifted(-1.0);
        Values d(plus.size());
        for (std::size_t r = 0; r < d.size(); ++r) d[r] = (plus[r] - minus[r]) / (2 * eps);
        return d;
    }

    void check_input(std::size_t i, const std::vector<std::vector<Values>>& rows, std::size_t c) {
        const std::size_t n = inputs_[i].numel();
        for (std::size_t e = 0; e < n; ++e) {
            Values onehot(n, 0.0);
            onehot[e] = 1.0;
            const Values column = central_difference(i, onehot);
            const std::string element = index_str(e, inputs_[i].shape());
            for (std::size_t r = 0; r < column.size(); ++r)
                compare(i, element, out_names_[r], rows[r][c][e], column[r]);
            if (!options_.check_forward_ad) continue;
            const Values by_tangent = forward_jvp(i, onehot);
            for (std::size_t r = 0; r < column.size(); ++r)
                compare(i, element + " (forward mode)", out_names_[r], by_tangent[r], column[r]);
        }
    }

    // u^T J v for random unit u (all outputs) and v (each checked input): one backward, two forwards each.
    void check_directions() {
        Generator gen(options_.seed);
        for (std::size_t d = 0; d < options_.directions; ++d) {
            const Values u = random_unit(gen, out_names_.size());
            const std::vector<Values> grads = vjp(u);
            for (std::size_t c = 0; c < checked_.size(); ++c) {
                const std::size_t i = checked_[c];
                if (inputs_[i].numel() == 0) continue;
                const Values v = random_unit(gen, inputs_[i].numel());
                const double numeric = dot(u, central_difference(i, v).data());
                compare(i, fmt::format("direction {} (u^T J v)", d), "u", dot(v, grads[c].data()), numeric);
                if (options_.check_forward_ad) {
                    compare(i, fmt::format("direction {} (u^T J v, forward mode)", d), "u",
                            dot(u, forward_jvp(i, v).data()), numeric);
                }
            }
        }
    }

    void compare(std::size_t input, std::string element, const std::string& output, double analytic, double numeric) {
        ++result_.checked;
        if (std::abs(analytic - numeric) <= options_.atol + options_.rtol * std::abs(numeric)) return;
        if (result_.mismatches++ < options_.max_reported) {
            result_.reported.push_back({input, names_[input], std::move(element), output, analytic, numeric});
        }
    }

    MultiFunction f_;
    std::vector<std::string> names_;
    GradcheckOptions options_;
    Inputs inputs_;
    Inputs outputs_;
    std::vector<Shape> out_shapes_;
    std::vector<std::string> out_names_;
    std::vector<std::size_t> checked_;
    GradcheckResult result_;
};

template <class T>
void check_inputs(const char* what, const std::vector<Tensor<T>>& inputs, const GradcheckOptions& options) {
    if constexpr (std::is_same_v<T, float>) {
        fail<ValueError>(
            "{}: the inputs are float32, whose resolution (~1e-7 relative) drowns central differences "
            "with step eps = {}; check a float64 copy instead (x.to<double>(true), with f in double)",
            what, options.eps);
    }
    check_options(what, options);
    bool any = false;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        if (!inputs[i].defined()) fail<ValueError>("{}: input {} is undefined", what, i);
        any = any || inputs[i].requires_grad();
    }
    if (!any) fail<ValueError>("{}: no input requires grad, so there is nothing to check", what);
}

std::vector<std::string> input_names(std::size_t n) {
    std::vector<std::string> names;
    for (std::size_t i = 0; i < n; ++i) names.push_back(fmt::format("input {}", i));
    return names;
}

GradcheckResult gradcheck_double(const CheckedFunction<double>& f, const Inputs& inputs,
                                 const GradcheckOptions& options) {
    MultiFunction multi = [&f](const Inputs& xs) { return Inputs{f(xs)}; };
    return Checker(multi, inputs, input_names(inputs.size()), options, "gradcheck").run();
}

// g(x..., u) = d<u, f(x)>/dx for the x that require grad: the vector-Jacobian product, recorded
// (create_graph) when the caller records, so that its own gradient can be checked.
Inputs vector_jacobian_product(const CheckedFunction<double>& f, const Inputs& xs_and_u) {
    const bool record_outer = is_grad_enabled();
    GradModeGuard on(true);  // the inner first-order gradient needs a graph even when the caller has none
    const Inputs xs(xs_and_u.begin(), xs_and_u.end() - 1);
    const TensorD y = f(xs);
    Inputs wrt;
    for (const auto& x : xs) {
        if (x.requires_grad()) wrt.push_back(x);
    }
    const Grads<double> grads = y.requires_grad()
                                    ? grad<double>({y}, wrt, {xs_and_u.back()}, std::nullopt, record_outer, true)
                                    : Grads<double>(wrt.size());
    Inputs out;
    for (std::size_t c = 0; c < wrt.size(); ++c)
        out.push_back(grads[c].defined() ? grads[c] : zeros<double>(wrt[c].shape()));
    return out;
}

GradcheckResult gradgradcheck_double(const CheckedFunction<double>& f, const Inputs& inputs,
                                     const GradcheckOptions& options) {
    Shape out_shape;
    {
        NoGradGuard no_grad;
        Inputs copies;
        for (const auto& x : inputs) copies.push_back(copy_of(x));
        out_shape = f(copies).shape();
    }
    Generator gen(options.seed ^ 0x9e3779b97f4a7c15ULL);  // not the stream fast mode draws from
    xt::xarray<double> u = xt::xarray<double>::from_shape(out_shape);
    for (auto& e : u) e = gen.normal();
    Inputs extended = inputs;
    extended.emplace_back(std::move(u), true);
    auto names = input_names(inputs.size());
    names.push_back(fmt::format("grad_output u (input {})", inputs.size()));
    MultiFunction g = [&f](const Inputs& xs) { return vector_jacobian_product(f, xs); };
    return Checker(g, extended, std::move(names), options, "gradgradcheck").run();
}

}  // namespace

std::string GradcheckResult::report() const {
    if (ok)
        return fmt::format("{} passed: {} comparisons agree (eps {}, atol {}, rtol {})", what, checked, eps, atol,
                           rtol);
    std::string out = fmt::format(
        "{} failed: {} of {} comparisons differ (|analytic - numeric| > atol {} + rtol {} "
        "|numeric|; central differences with step eps {}):",
        what, mismatches, checked, atol, rtol, eps);
    for (const auto& m : reported) {
        out += fmt::format("\n  {} element {}, output {}: analytic {:.10g}, numeric {:.10g} (eps {})", m.input_name,
                           m.element, m.output_element, m.analytic, m.numeric, eps);
    }
    if (mismatches > reported.size()) out += fmt::format("\n  ... and {} more", mismatches - reported.size());
    return out;
}

template <class T>
GradcheckResult gradcheck(const std::type_identity_t<CheckedFunction<T>>& f, const std::vector<Tensor<T>>& inputs,
                          const GradcheckOptions& options) {
    check_inputs("gradcheck", inputs, options);
    if constexpr (std::is_same_v<T, double>) return gradcheck_double(f, inputs, options);
    return {};
}

template <class T>
GradcheckResult gradgradcheck(const std::type_identity_t<CheckedFunction<T>>& f, const std::vector<Tensor<T>>& inputs,
                              const GradcheckOptions& options) {
    check_inputs("gradgradcheck", inputs, options);
    if constexpr (std::is_same_v<T, double>) return gradgradcheck_double(f, inputs, options);
    return {};
}

#define TAPEGRAD_INSTANTIATE(T)                                                                         \
    template GradcheckResult gradcheck<T>(const CheckedFunction<T>&, const std::vector<Tensor<T>>&,     \
                                          const GradcheckOptions&);                                     \
    template GradcheckResult gradgradcheck<T>(const CheckedFunction<T>&, const std::vector<Tensor<T>>&, \
                                              const GradcheckOptions&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad

/// \file
/// A gradient checker for users' own tests (PyTorch's gradcheck / gradgradcheck, in C++).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

/// Defaults as PyTorch's gradcheck: central differences with step eps, and an analytic value
/// a passes against the numeric n when |a - n| <= atol + rtol |n|.
struct GradcheckOptions {
    /// Finite-difference step: each element is moved by +eps and -eps.
    double eps = 1e-6;
    /// Absolute tolerance.
    double atol = 1e-5;
    /// Relative tolerance, times |numeric|.
    double rtol = 1e-3;
    /// Instead of the full Jacobian, compare u^T J v for random unit directions u, v (the
    /// dot-product test of JAX's check_grads): one backward and two forwards per direction.
    bool fast_mode = false;
    /// How many random direction pairs fast mode compares per input (at least 1).
    std::size_t directions = 3;
    /// Seed of the random directions (fast mode) and of gradgradcheck's output gradients.
    std::uint64_t seed = 0;
    /// How many mismatches the report lists (all are counted).
    std::size_t max_reported = 10;
    /// Also check forward mode (PyTorch's check_forward_ad): each input's Jacobian columns J e_j
    /// from tangents (fwad::make_dual; in fast mode u^T J v) against the same central differences.
    /// Its mismatches name the element with "(forward mode)". For gradgradcheck this checks forward
    /// over reverse: the tangent of the vector-Jacobian product, a Hessian-vector product. Needs to
    /// open a dual level: ValueError when one is open on this thread.
    bool check_forward_ad = false;
};

/// One disagreement: d output[output_index] / d input[input] at element `element`
/// (a direction pair "u^T J v" in fast mode).
struct GradcheckMismatch {
    /// Index of the input, in the order given to gradcheck.
    std::size_t input = 0;
    std::string input_name;  ///< "input 1", or "grad_output u" for gradgradcheck's extra input
    std::string element;     ///< multi-index such as "[1, 2]" ("[]" for a 0-d input)
    /// The output's multi-index, such as "[0, 1]" ("u" in fast mode).
    std::string output_element;
    /// The tape's value.
    double analytic = 0;
    /// The central-difference value.
    double numeric = 0;
};

/// What gradcheck or gradgradcheck found. Converts to bool (ok): `REQUIRE(gradcheck<double>(f, xs))`.
struct GradcheckResult {
    /// True when every comparison agreed.
    bool ok = true;
    std::size_t checked = 0;     ///< Jacobian entries or directions compared
    std::size_t mismatches = 0;  ///< how many failed
    /// The first GradcheckOptions::max_reported mismatches.
    std::vector<GradcheckMismatch> reported;
    /// The step used.
    double eps = 0;
    /// The absolute tolerance used.
    double atol = 0;
    /// The relative tolerance used.
    double rtol = 0;
    std::string what;  ///< "gradcheck" or "gradgradcheck"
    /// Human-readable: each mismatch with input, element, analytic, numeric and step.
    std::string report() const;
    /// ok: lets a result go straight into CHECK() or REQUIRE().
    explicit operator bool() const noexcept { return ok; }
};

/// The function a check differentiates: the inputs in, one tensor of any shape out (every element
/// of it is checked).
template <class T>
using CheckedFunction = std::function<Tensor<T>(const std::vector<Tensor<T>>&)>;

/// Compares the tape's gradient of f with central finite differences, for every input that
/// requires grad (at least one must). Inputs must be float64: float32 is refused with a
/// ValueError (its ~1e-7 resolution makes eps = 1e-6 differences meaningless); check a
/// `.to<double>(true)` copy. The inputs are copied, never modified; the finite-difference
/// forwards run under NoGradGuard. Returns a result instead of throwing on a mismatch:
/// `REQUIRE(gradcheck<double>(f, xs))`, and print `result.report()` to see what differs.
template <class T>
GradcheckResult gradcheck(const std::type_identity_t<CheckedFunction<T>>& f, const std::vector<Tensor<T>>& inputs,
                          const GradcheckOptions& options = {});

/// Second order: checks the gradient of the vector-Jacobian product x, u -> J(x)^T u (built with
/// create_graph) against finite differences, with u random (seeded by options.seed) and itself
/// checked as an extra input, numbered after f's inputs.
template <class T>
GradcheckResult gradgradcheck(const std::type_identity_t<CheckedFunction<T>>& f, const std::vector<Tensor<T>>& inputs,
                              const GradcheckOptions& options = {});

}  // namespace tapegrad

// Writing your own op: everything tapegrad's own ops use, in one header.
//
//   record(name, inputs, value, rule[, tangent])
//                                       wraps an eagerly computed value as the op's output and, when
//                                       something requires grad, puts a node with `rule` on the tape;
//                                       `rule` is any callable (a lambda is stored inside the node,
//                                       with no allocation of its own); `tangent`, the forward-mode
//                                       rule, returns the output's tangent J v (undefined for zero)
//   Backward<T>                         what a rule sees: grad(), input(i), output(), needs(i)
//   Forward<T>                          what a tangent rule sees: tangent(i) (undefined when input i
//                                       has none: zero), has(i), input(i), output()
//   Grads<T>                            what a rule returns: one gradient per input (undefined: none);
//                                       a std::vector with a pooled allocator, built as `{ga, gb}`
//   detail::take_buffer(op, shape)      an uninitialised output buffer from the per-thread pool
//   check_defined / check_broadcast / check_same_shape / check_ndim / check_not_nan
//                                       argument checks that throw with the op, argument and shapes
//
// Write the rule with tapegrad's ops (not raw xtensor) and gradients of gradients work too; the
// engine sums each returned gradient back to its input's shape. Every built-in op has a tangent
// rule; an op without one still works in forward mode: its tangent is derived from `rule`
// (J v = d/du (J^T u . v), two calls of it, slower, and the tangent carries no graph), which needs
// `rule` to be a pure function of what Backward shows (no state kept between calls). examples/custom_op.cpp is a
// complete op with gradcheck and gradgradcheck.
#pragma once

#include <tapegrad/autograd/node.hpp>
#include <tapegrad/ops/check.hpp>

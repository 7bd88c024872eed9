#include <tapegrad/ops/einsum.hpp>

#include <array>
#include <string>

#include <tapegrad/ops/arithmetic.hpp>
#include <tapegrad/ops/layout.hpp>
#include <tapegrad/ops/matmul.hpp>
#include <tapegrad/ops/reduce.hpp>
#include <tapegrad/ops/shape.hpp>

namespace tapegrad {

namespace {

/// A checked equation: each operand's term and the output, one letter per dim, and each letter's size.
struct Equation {
    std::vector<std::string> inputs;
    std::string output;
    std::array<std::size_t, 128> size{};

    std::size_t count(const std::string& letters) const {
        std::size_t n = 1;
        for (char c : letters) n *= size[static_cast<unsigned char>(c)];
        return n;
    }
    Shape shape(const std::string& letters) const {
        Shape out;
        for (char c : letters) out.push_back(size[static_cast<unsigned char>(c)]);
        return out;
    }
};

bool is_letter(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool has(const std::string& letters, char c) {
    return letters.find(c) != std::string::npos;
}

/// Splits the equation into terms and checks its characters, without looking at the operands.
Equation parse(std::string_view equation) {
    std::string text;  // without spaces
    for (char c : equation) {
        if (c != ' ') text.push_back(c);
    }
    if (has(text, '.')) {
        fail<ValueError>(
            "einsum: equation '{}' uses an ellipsis ('...'), which tapegrad's einsum does not support; name every "
            "dim with a letter",
            equation);
    }
    const std::size_t arrow = text.find("->");
    Equation eq;
    eq.inputs.emplace_back();
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (i == arrow) {
            ++i;  // the '>'
        } else if (c == ',' && i < arrow) {
            eq.inputs.emplace_back();
        } else if (is_letter(c)) {
            (i < arrow ? eq.inputs.back() : eq.output).push_back(c);
        } else {
            fail<ValueError>(
                "einsum: equation '{}' has '{}' where a letter, ',' between operands or one '->' before the output "
                "is expected",
                equation, c);
        }
    }
    return eq;
}

/// The output without '->': every letter that appears exactly once, in alphabetical order (numpy's).
std::string implicit_output(const std::vector<std::string>& inputs) {
    std::array<int, 128> seen{};
    for (const auto& term : inputs) {
        for (char c : term) ++seen[static_cast<unsigned char>(c)];
    }
    std::string out;
    for (std::size_t c = 0; c < seen.size(); ++c) {
        if (seen[c] == 1) out.push_back(static_cast<char>(c));
    }
    return out;
}

/// Parses `equation` and checks it against the operands: counts, dims and one size per letter.
template <class T>
Equation check_equation(std::string_view equation, const std::vector<Tensor<T>>& operands) {
    if (operands.empty() || operands.size() > 2) {
        fail<ValueError>(
            "einsum: {} operands given for '{}'; tapegrad's einsum takes one or two (contract more operands pairwise, "
            "one call per pair)",
            operands.size(), equation);
    }
    Equation eq = parse(equation);
    if (eq.inputs.size() != operands.size()) {
        fail<ValueError>("einsum: equation '{}' has {} operand terms but {} operands were given", equation,
                         eq.inputs.size(), operands.size());
    }
    if (equation.find("->") == std::string_view::npos) eq.output = implicit_output(eq.inputs);
    std::array<std::size_t, 128> owner{};  // the operand that first gave each letter its size
    std::array<bool, 128> known{};
    for (std::size_t i = 0; i < operands.size(); ++i) {
        const Tensor<T>& x = operands[i];
        const std::string& term = eq.inputs[i];
        if (!x.defined()) fail<ValueError>("einsum: operand {} is an undefined tensor", i);
        if (term.size() != x.ndim()) {
            fail<ShapeError>("einsum: operand {} has shape {} ({} dims) but its term '{}' in '{}' names {}", i,
                             shape_str(x.shape()), x.ndim(), term, equation, term.size());
        }
        for (std::size_t d = 0; d < term.size(); ++d) {
            const auto c = static_cast<unsigned char>(term[d]);
            if (known[c] && eq.size[c] != x.shape()[d]) {
                fail<ShapeError>(
                    "einsum: letter '{}' has size {} in operand {} (shape {}) and size {} in operand {} (shape {})",
                    term[d], eq.size[c], owner[c], shape_str(operands[owner[c]].shape()), x.shape()[d], i,
                    shape_str(x.shape()));
            }
            known[c] = true;
            eq.size[c] = x.shape()[d];
            owner[c] = i;
        }
    }
    for (std::size_t j = 0; j < eq.output.size(); ++j) {
        const char c = eq.output[j];
        if (eq.output.find(c, j + 1) != std::string::npos) {
            fail<ValueError>("einsum: output '{}' of '{}' repeats letter '{}'", eq.output, equation, c);
        }
        if (!known[static_cast<unsigned char>(c)]) {
            fail<ValueError>("einsum: output letter '{}' of '{}' appears in no operand", c, equation);
        }
    }
    return eq;
}

/// x, whose dims `term` names, reduced to distinct letters all in `keep`: a repeated letter becomes
/// its diagonal (a last dim, as diagonal appends it), a letter outside keep is summed over.
template <class T>
Tensor<T> reduce_term(Tensor<T> x, std::string& term, const std::string& keep) {
    for (std::size_t p = 0; p < term.size();) {
        const std::size_t q = term.find(term[p], p + 1);
        if (q == std::string::npos) {
            ++p;
            continue;
        }
        const char letter = term[p];
        x = diagonal(x, 0, static_cast<std::int64_t>(p), static_cast<std::int64_t>(q));
        term.erase(q, 1);
        term.erase(p, 1);
        term.push_back(letter);
    }
    Dims summed;
    std::string kept;
    for (std::size_t d = 0; d < term.size(); ++d) {
        if (has(keep, term[d])) {
            kept.push_back(term[d]);
        } else {
            summed.push_back(static_cast<std::int64_t>(d));
        }
    }
    term = kept;
    return summed.empty() ? x : tapegrad::sum(x, summed);
}

/// x, whose dims `from` names, with its dims in the order of `to` (the same letters), permuted only if needed.
template <class T>
Tensor<T> arrange(const Tensor<T>& x, const std::string& from, const std::string& to) {
    if (from == to) return x;
    Dims dims;
    for (char c : to) dims.push_back(static_cast<std::int64_t>(from.find(c)));
    return permute(x, dims);
}

template <class T>
Tensor<T> reshaped(const Tensor<T>& x, const Shape& shape) {
    return x.shape() == shape ? x : reshape(x, shape);
}

/// x (dims `term`) in the output's order, with a size-1 dim for each output letter it lacks: ready to broadcast.
template <class T>
Tensor<T> spread(const Tensor<T>& x, const std::string& term, const Equation& eq) {
    std::string order;
    Shape shape;
    for (char c : eq.output) {
        if (has(term, c)) order.push_back(c);
        shape.push_back(has(term, c) ? eq.size[static_cast<unsigned char>(c)] : 1);
    }
    return reshaped(arrange(x, term, order), shape);
}

/// Two operands, each already reduced to letters in the output or the other operand.
template <class T>
Tensor<T> contract(Tensor<T> a, const std::string& term_a, Tensor<T> b, const std::string& term_b, const Equation& eq) {
    std::string batch;  // in both and in the output; then those only one operand has, in the output's order
    std::string left;
    std::string right;
    std::string summed;  // in both, not in the output: contracted by the GEMM, in a's order
    for (char c : eq.output) {
        const bool in_a = has(term_a, c);
        const bool in_b = has(term_b, c);
        (in_a && in_b ? batch : in_a ? left : right).push_back(c);
    }
    for (char c : term_a) {
        if (has(term_b, c) && !has(eq.output, c)) summed.push_back(c);
    }
    if (summed.empty()) return mul(spread(a, term_a, eq), spread(b, term_b, eq));  // an outer or elementwise product
    // Each operand as [batch.., rows, columns], transposed by a GEMM flag where that needs no permute.
    const bool ta = term_a != batch + left + summed && term_a == batch + summed + left;
    const bool tb = term_b != batch + summed + right && term_b == batch + right + summed;
    a = arrange(a, term_a, ta ? batch + summed + left : batch + left + summed);
    b = arrange(b, term_b, tb ? batch + right + summed : batch + summed + right);
    const std::size_t l = eq.count(left);
    const std::size_t r = eq.count(right);
    const std::size_t k = eq.count(summed);
    Shape shape_a = eq.shape(batch);
    Shape shape_b = shape_a;
    for (std::size_t d : ta ? Shape{k, l} : Shape{l, k}) shape_a.push_back(d);
    for (std::size_t d : tb ? Shape{r, k} : Shape{k, r}) shape_b.push_back(d);
    const Tensor<T> y = gemm(reshaped(a, shape_a), reshaped(b, shape_b), ta, tb);
    const std::string letters = batch + left + right;
    return arrange(reshaped(y, eq.shape(letters)), letters, eq.output);
}

}  // namespace

template <class T>
Tensor<T> einsum(std::string_view equation, const std::vector<Tensor<T>>& operands) {
    const Equation eq = check_equation(equation, operands);
    if (operands.size() == 1) {
        if (eq.inputs[0] == eq.output) return clone(operands[0]);  // a copy, as every op's result
        std::string term = eq.inputs[0];
        const Tensor<T> x = reduce_term(operands[0], term, eq.output);
        return arrange(x, term, eq.output);
    }
    std::string term_a = eq.inputs[0];
    std::string term_b = eq.inputs[1];
    const Tensor<T> a = reduce_term(operands[0], term_a, eq.output + eq.inputs[1]);
    const Tensor<T> b = reduce_term(operands[1], term_b, eq.output + eq.inputs[0]);
    return contract(a, term_a, b, term_b, eq);
}

#define TAPEGRAD_INSTANTIATE(T) template Tensor<T> einsum(std::string_view, const std::vector<Tensor<T>>&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad

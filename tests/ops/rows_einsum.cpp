// Rows for einsum (ops/einsum.hpp): one row per equation, each checked against einsum's
// definition written out (every assignment of the letters, the product of the operands' elements
// summed into the output's element), which shares nothing with the lowering to diagonal, sum,
// permute, reshape, gemm and mul.
#include <algorithm>
#include <map>
#include <string>

#include "op_table.hpp"
#include "reference.hpp"

namespace optable {

namespace {

/// numpy.einsum by its definition: out[output letters] = Σ over the other letters of Π operands.
Array einsum_ref(const std::string& equation, const std::vector<Array>& xs) {
    std::string text;
    for (char c : equation) {
        if (c != ' ') text.push_back(c);
    }
    const std::size_t arrow = text.find("->");
    std::vector<std::string> terms(1);
    for (char c : text.substr(0, arrow)) {
        if (c == ',') {
            terms.emplace_back();
        } else {
            terms.back().push_back(c);
        }
    }
    std::map<char, std::size_t> size;  // every letter, alphabetical (ASCII: uppercase first)
    std::map<char, int> seen;
    for (std::size_t i = 0; i < terms.size(); ++i) {
        for (std::size_t d = 0; d < terms[i].size(); ++d) {
            size[terms[i][d]] = xs[i].shape()[d];
            ++seen[terms[i][d]];
        }
    }
    std::string output;
    if (arrow != std::string::npos) {
        output = text.substr(arrow + 2);
    } else {
        for (const auto& [c, n] : seen) {
            if (n == 1) output.push_back(c);
        }
    }
    std::string letters;
    ref::Index sizes;
    for (const auto& [c, n] : size) {
        letters.push_back(c);
        sizes.push_back(n);
    }
    ref::Index out_shape;
    for (char c : output) out_shape.push_back(size[c]);
    Array out = ref::empty(out_shape);
    std::fill(out.begin(), out.end(), 0.0);
    auto pick = [&](const std::string& term, const ref::Index& value, const ref::Index& shape) {
        ref::Index idx;
        for (char c : term) idx.push_back(value[letters.find(c)]);
        return ref::ravel(idx, shape);
    };
    for (std::size_t k = 0; k < ref::count(sizes); ++k) {
        const ref::Index value = ref::unravel(k, sizes);
        double product = 1;
        for (std::size_t i = 0; i < xs.size(); ++i)
            product *= xs[i].data()[pick(terms[i], value, ref::shape_of(xs[i]))];
        out.data()[pick(output, value, out_shape)] += product;
    }
    return out;
}

OpInfo row(const std::string& equation, std::vector<std::vector<Shape>> cases, std::vector<ErrorCase> errors = {},
           ReadmeLine readme = {}) {
    return OpInfo{.name = "einsum (" + equation + ")",
                  .op = "einsum",
                  .readme = std::move(readme),
                  .fn = op([equation](const auto& in) { return tg::einsum(equation, in); }),
                  .cases = std::move(cases),
                  .reference = [equation](const std::vector<Array>& x) { return einsum_ref(equation, x); },
                  .errors = std::move(errors)};
}

ErrorCase error(const std::string& what, const std::string& equation, std::vector<Shape> shapes, Expect expect,
                std::vector<std::string> fragments) {
    return {what, std::move(shapes), [equation](const Inputs64& in) { tg::einsum(equation, in); }, expect,
            std::move(fragments)};
}

std::vector<OpInfo> einsum_rows() {
    const auto errors = std::vector<ErrorCase>{
        error("fewer operands than terms", "ij,jk->ik", {{2, 3}}, Expect::Value,
              {"einsum", "'ij,jk->ik'", "2 operand terms", "1 operands"}),
        error("more operands than terms", "ij->ji", {{2, 3}, {3, 2}}, Expect::Value, {"einsum", "1 operand terms"}),
        error("three operands", "i,i,i->", {{2}, {2}, {2}}, Expect::Value, {"einsum", "3 operands", "one or two"}),
        error("letter of two sizes", "ij,jk->ik", {{2, 3}, {4, 5}}, Expect::Shape,
              {"einsum", "letter 'j'", "size 3", "[2, 3]", "size 4", "[4, 5]"}),
        error("diagonal of a non-square operand", "ii->i", {{2, 3}}, Expect::Shape,
              {"einsum", "letter 'i'", "size 2", "size 3", "[2, 3]"}),
        error("term naming more dims than the operand has", "ijk->i", {{2, 3}}, Expect::Shape,
              {"einsum", "[2, 3]", "'ijk'", "names 3"}),
        error("ellipsis", "...ij->...ji", {{2, 2, 3}}, Expect::Value, {"einsum", "ellipsis", "does not support"}),
        error("output letter repeated", "ij->ii", {{2, 2}}, Expect::Value, {"einsum", "repeats letter 'i'"}),
        error("output letter in no operand", "ij->ik", {{2, 3}}, Expect::Value, {"einsum", "'k'", "no operand"}),
        error("a digit", "i1->i", {{2, 3}}, Expect::Value, {"einsum", "'1'"}),
        error("two arrows", "i->i->i", {{2}}, Expect::Value, {"einsum", "'-'"}),
        error("a comma in the output", "i,j->i,j", {{2}, {3}}, Expect::Value, {"einsum", "','"}),
    };
    return {
        row("bij,bjk->bik",
            {{{2, 2, 3}, {2, 3, 2}}, {{1, 2, 3}, {1, 3, 1}}, {{2, 0, 3}, {2, 3, 2}}, {{2, 2, 0}, {2, 0, 3}}}, errors,
            {"`einsum(eq, {a[, b]})`",
             "Einstein summation over 1 or 2 operands, letters only (no `...`); lowered to diagonal, sum, permute, "
             "reshape, gemm / mul",
             "through the ops it is lowered to: each operand's gradient is the einsum of g with the other"}),
        row("bhqd,bhkd->bhqk", {{{2, 2, 3, 2}, {2, 2, 4, 2}}, {{1, 1, 1, 1}, {1, 1, 1, 1}}}),
        row("bhqk,bhkd->bhqd", {{{2, 1, 3, 4}, {2, 1, 4, 2}}}),
        row("ij,jk->ik", {{{2, 3}, {3, 4}}}),
        row("ij,jk", {{{2, 3}, {3, 4}}}),              // implicit output: 'ik'
        row("ij,kj->ik", {{{2, 3}, {4, 3}}}),          // b transposed by the GEMM flag
        row("ji,jk->ik", {{{3, 2}, {3, 4}}}),          // a transposed by the GEMM flag
        row("abc,cda->bd", {{{2, 3, 2}, {2, 2, 2}}}),  // both permuted, two contracted letters
        row("bij,jk->bik", {{{2, 2, 3}, {3, 2}}}),
        row("ij,jk->i", {{{2, 3}, {3, 4}}}),  // k summed in b alone first
        row("ij,jk->", {{{2, 3}, {3, 2}}}),
        row("iJ,Jk->ki", {{{2, 3}, {3, 2}}}),  // uppercase letters, output permuted
        row(" ij , jk -> ik ", {{{2, 3}, {3, 2}}}),
        row("iij,jk->ik", {{{3, 3, 2}, {2, 4}}}),  // a diagonal before the contraction
        row("i,i->", {{{3}, {3}}, {{1}, {1}}, {{0}, {0}}}),
        row("ij,ij->", {{{2, 3}, {2, 3}}}),
        row("i,j->ij", {{{2}, {3}}, {{0}, {3}}}),  // outer: nothing contracted, a broadcast mul
        row("bi,bi->bi", {{{2, 3}, {2, 3}}}),      // elementwise
        row("ij,k->ik", {{{2, 3}, {2}}}),
        row(",i->i", {{{}, {3}}}),  // a 0-d operand scales
        row("ij->ji", {{{2, 3}}, {{1, 0}}}),
        row("ji", {{{2, 3}}}),  // implicit output 'ij': the transpose
        row("ijk->kij", {{{2, 3, 2}}}),
        row("ij->ij", {{{2, 3}}}),
        row("->", {{{}}}),
        row("ii->i", {{{3, 3}}, {{1, 1}}, {{0, 0}}}),
        row("ii", {{{3, 3}}}),  // implicit output '': the trace
        row("iii->i", {{{2, 2, 2}}}),
        row("ijk->", {{{2, 3, 2}}}),
        row("ijk->j", {{{2, 3, 2}}}),
    };
}

const RegisterFamily registered{{.name = "einsum", .order = 32, .rows = einsum_rows}};

}  // namespace

}  // namespace optable

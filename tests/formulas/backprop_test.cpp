// [F16], [F17]: seed 002's backpropagation through a whole 4-layer network (tanh, sigmoid, tanh,
// softmax output, cross-entropy cost), written out by hand per sample in the document's
// notation and compared with the tape: every delta (the retained gradient of each
// pre-activation s^(l)) and every layer's weight and bias gradient.
#include <catch2/catch.hpp>

#include "reference_net.hpp"

using namespace formulas;

namespace {

// N^(0..4). W^(2) and W^(4) are both 3 x 4, so 002's step 4 erratum can be evaluated at l = 2.
const std::vector<std::size_t> sizes_002 = {5, 4, 3, 4, 3};
const std::vector<Act> acts_002 = {Act::Tanh, Act::Sigmoid, Act::Tanh, Act::Softmax};

/// 002's summary, steps 1 and 2 (eqs 5, 13), with the cross-entropy cost of eq 2.
std::vector<Mat> backprop_002(const RefNet& net, const RefForward& f, const Mat& y) {
    return backprop_deltas(net, f, y, Cost::CrossEntropy);
}

/// The network on the tape, one forward and backward of the summed cost over a batch.
template <class T>
struct Case002 {
    TapeNet<T> net;
    tg::Tensor<T> x, y;
    RefNet ref;
    Mat xm, ym;

    Case002(tg::Generator& gen, std::size_t batch)
        : net(sizes_002, acts_002, gen),
          x(random_const<T>({batch, sizes_002.front()}, gen)),
          y(random_targets<T>(gen, batch, sizes_002.back())),
          ref(net.reference()),
          xm(values(x)),
          ym(values(y)) {
        TapeNet<T>::cost(Cost::CrossEntropy, net.forward(x), y).backward();
    }

    std::size_t layers() const { return ref.size(); }
    Mat tape_delta(std::size_t l) const { return grad_of(net.s[l - 1]); }
    Mat tape_weight_grad(std::size_t l) const { return grad_of(net.layers[l - 1]->weight()); }
    Mat tape_bias_grad(std::size_t l) const { return grad_of(net.layers[l - 1]->bias()); }
};

}  // namespace

TEMPLATE_TEST_CASE("[F16] delta recursion: delta^(l) = H'^(l)T W^(l+1)T delta^(l+1) at every layer",
                   "[F16][formulas] 002 eq 13; 004 eq 11; 001 Back propagation", float, double) {
    using T = TestType;
    tg::Generator gen(116);
    for (std::size_t batch : batch_sizes) {
        INFO("batch " << batch);
        Case002<T> c(gen, batch);
        const std::size_t L = c.layers();
        std::vector<Mat> expected(L + 1);
        for (std::size_t l = 1; l <= L; ++l) expected[l] = xt::zeros<double>({batch, sizes_002[l]});
        for (std::size_t b = 0; b < batch; ++b) {
            const RefForward f = ref_forward(c.ref, sample(c.xm, b));
            const std::vector<Mat> delta = backprop_002(c.ref, f, sample(c.ym, b));
            for (std::size_t l = 1; l <= L; ++l) set_sample(expected[l], b, delta[l]);
            // For an elementwise h, H'^T v is f'(s) ⊙ v (002 eq 17).
            for (std::size_t l = 1; l < L; ++l) {
                const Mat back = mat_t_vec(c.ref[l].w, delta[l + 1]);
                const Mat h = activation_jacobian(c.ref[l - 1].act, f.s[l]);
                Mat elementwise = xt::zeros<double>(back.shape());
                for (std::size_t i = 0; i < back.size(); ++i) elementwise(i) = h(i, i) * back(i);
                require_close(elementwise, delta[l], 1e-14, "f'(s) ⊙ W^T delta is H'^T W^T delta");
            }
        }
        for (std::size_t l = 1; l <= L; ++l) {
            INFO("layer " << l);
            require_matches<T>(c.tape_delta(l), expected[l], "delta^(l) = dC/ds^(l)");
        }
    }
    if constexpr (std::is_same_v<T, double>) {
        SECTION("erratum: 001 writes the recursion with dC/dz^(i-1) and w_jk, and dC/dw_j = (dC/dz_j) a_j") {
            Case002<T> c(gen, 1);
            const RefForward f = ref_forward(c.ref, sample(c.xm, 0));
            const Mat y = sample(c.ym, 0);
            const Mat d1 = sample(c.tape_delta(1), 0), d2 = sample(c.tape_delta(2), 0);
            // dC/dz_j^(2) = sum_k dC/dz_k^(1) f'(z_j^(2)) w_jk^(2): W^(2) (3 x 4) times delta^(1) (4).
            const Mat w2_d1 = mat_vec(c.ref[1].w, d1);
            const Mat h2 = activation_jacobian(c.ref[1].act, f.s[2]);
            Mat literal = xt::zeros<double>(d2.shape());
            for (std::size_t j = 0; j < literal.size(); ++j) literal(j) = h2(j, j) * w2_d1(j);
            const Mat numeric = central_differences(
                [&](const Mat& s2) { return cost_from_preactivation(c.ref, 2, s2, y, Cost::CrossEntropy); }, f.s[2]);
            require_erratum(literal, d2, numeric, "001's delta recursion at layer 2");
            // dC/dw_jk^(2) read as (dC/dz_j^(2)) a_j^(1) for every k.
            Mat literal_w = xt::zeros<double>(c.ref[1].w.shape());
            for (std::size_t j = 0; j < literal_w.shape(0); ++j)
                for (std::size_t k = 0; k < literal_w.shape(1); ++k) literal_w(j, k) = d2(j) * f.a[1](j);
            require_erratum(literal_w, c.tape_weight_grad(2),
                            weight_differences(c.ref, 2, c.xm, c.ym, Cost::CrossEntropy),
                            "001's dC/dw_j^(i) = (dC/dz_j) a_j^(i-1)");
        }
    }
}

TEMPLATE_TEST_CASE("[F17] per-layer gradients from deltas: grad W^(l) = delta^(l) a^(l-1)T and grad b^(l) = delta^(l)",
                   "[F17][formulas] 002 eqs 7, 11; 004 eqs 8, 9; 001", float, double) {
    using T = TestType;
    tg::Generator gen(117);
    for (std::size_t batch : batch_sizes) {
        INFO("batch " << batch);
        Case002<T> c(gen, batch);
        const std::size_t L = c.layers();
        std::vector<Mat> grad_w(L + 1), grad_b(L + 1);
        for (std::size_t l = 1; l <= L; ++l) {
            grad_w[l] = xt::zeros<double>(c.ref[l - 1].w.shape());
            grad_b[l] = xt::zeros<double>(c.ref[l - 1].b.shape());
        }
        for (std::size_t b = 0; b < batch; ++b) {
            const RefForward f = ref_forward(c.ref, sample(c.xm, b));
            const std::vector<Mat> delta = backprop_002(c.ref, f, sample(c.ym, b));
            for (std::size_t l = 1; l <= L; ++l) {
                grad_w[l] += outer(delta[l], f.a[l - 1]);  // eq 11, summed over the batch
                grad_b[l] += delta[l];                     // eq 7
            }
        }
        for (std::size_t l = 1; l <= L; ++l) {
            INFO("layer " << l);
            require_matches<T>(c.tape_weight_grad(l), grad_w[l], "grad W^(l) = delta^(l) a^(l-1)T");
            require_matches<T>(c.tape_bias_grad(l), grad_b[l], "grad b^(l) = delta^(l)");
        }
    }
    if constexpr (std::is_same_v<T, double>) {
        SECTION("erratum: 002's summary step 4 writes delta^(L) a^(L-1)T for every layer") {
            Case002<T> c(gen, 1);
            const std::size_t L = c.layers();
            const RefForward f = ref_forward(c.ref, sample(c.xm, 0));
            const std::vector<Mat> delta = backprop_002(c.ref, f, sample(c.ym, 0));
            const Mat literal = outer(delta[L], f.a[L - 1]);
            // Layers 1 and 3 do not even have its shape ...
            REQUIRE(shape_of(literal) != shape_of(c.ref[0].w));
            REQUIRE(shape_of(literal) != shape_of(c.ref[2].w));
            // ... and layer 2, which does, gets another matrix.
            require_erratum(literal, c.tape_weight_grad(2),
                            weight_differences(c.ref, 2, c.xm, c.ym, Cost::CrossEntropy), "step 4 at l = 2");
        }
    }
}

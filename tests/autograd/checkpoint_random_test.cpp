// Gradient checkpointing with random numbers (the recomputation draws the same dropout masks and
// leaves every stream where it would be without checkpointing), the memory it saves, and threads.
#include <catch2/catch.hpp>

#include <future>
#include <memory>
#include <thread>

#include <tapegrad/autograd/autograd.hpp>
#include <tapegrad/ops/ops.hpp>

namespace tg = tapegrad;
using tg::TensorD;

namespace {

struct Run {
    xt::xarray<double> x_grad, w_grad;
    std::string state;  // of the generator, after the backward
};

// dropout(tanh(x W^T)) summed with weights, with or without the checkpoint, drawing from `gen`; one
// more draw between the forward and the backward, as other code would make.
Run dropout_run(bool checkpointed, tg::Generator& gen) {
    tg::Generator init(21);
    TensorD x = tg::randn<double>({4, 6}, init, 0.0, 1.0, true);
    TensorD w = tg::randn<double>({6, 6}, init, 0.0, 0.5, true);
    auto fn = [&](const TensorD& z) { return tg::dropout(tg::tanh(tg::linear(z, w)), 0.5, true, gen) * z; };
    const TensorD y = checkpointed ? tg::checkpoint<double>(fn, x) : fn(x);
    (void)gen.uniform();
    tg::sum(tg::square(y)).backward();
    return {x.grad().value(), w.grad().value(), gen.state()};
}

void check_same(const Run& a, const Run& b) {
    CHECK(a.x_grad == b.x_grad);
    CHECK(a.w_grad == b.w_grad);
    CHECK(a.state == b.state);
}

}  // namespace

TEST_CASE("checkpoint: dropout in a segment draws the same masks again", "[autograd][checkpoint][random]") {
    tg::Generator plain_gen(5), checkpointed_gen(5);
    check_same(dropout_run(false, plain_gen), dropout_run(true, checkpointed_gen));
}

TEST_CASE("checkpoint: dropout from the default generator", "[autograd][checkpoint][random]") {
    auto run = [](bool checkpointed) {
        tg::manual_seed(17);
        TensorD x({0.5, -1.0, 2.0, 0.25, 1.5, -0.75}, true);
        auto fn = [](const TensorD& z) { return tg::dropout(z * z, 0.5) + tg::dropout(z, 0.3); };
        tg::sum(checkpointed ? tg::checkpoint<double>(fn, x) : fn(x)).backward();
        (void)tg::dropout(x, 0.5);  // a draw after the backward: where the stream stood matters
        return Run{x.grad().value(), {}, tg::with_default_generator([](tg::Generator& g) { return g.state(); })};
    };
    const Run plain = run(false);
    const Run checkpointed = run(true);
    CHECK(plain.x_grad == checkpointed.x_grad);
    CHECK(plain.state == checkpointed.state);
}

TEST_CASE("checkpoint: a generator made inside fn, or moved before the backward", "[autograd][checkpoint][random]") {
    // A local generator dies with the forward's call; the recomputation makes it again.
    auto local = [](const TensorD& z) {
        tg::Generator gen(99);
        return tg::dropout(z, 0.5, true, gen) * z;
    };
    TensorD x({1.0, 2.0, 3.0, 4.0, 5.0, 6.0}, true);
    tg::sum(local(x)).backward();
    const xt::xarray<double> plain = x.grad().value();
    x.zero_grad();
    tg::sum(tg::checkpoint<double>(local, x)).backward();
    CHECK(x.grad().value() == plain);

    // A generator moved to another object between the forward and the backward stays recorded.
    auto holder = std::make_unique<tg::Generator>(7);
    auto moved = [&holder](const TensorD& z) { return tg::dropout(z, 0.5, true, *holder) * z; };
    x.zero_grad();
    const TensorD loss = tg::sum(tg::checkpoint<double>(moved, x));
    holder = std::make_unique<tg::Generator>(std::move(*holder));
    loss.backward();
    tg::Generator reference(7);
    TensorD x2({1.0, 2.0, 3.0, 4.0, 5.0, 6.0}, true);
    tg::sum(tg::dropout(x2, 0.5, true, reference) * x2).backward();
    CHECK(x.grad().value() == x2.grad().value());
    CHECK(holder->state() == reference.state());
}

TEST_CASE("checkpoint: nested segments with dropout", "[autograd][checkpoint][random]") {
    auto run = [](bool checkpointed) {
        tg::Generator gen(31);
        TensorD x({0.5, -1.0, 2.0, 0.25}, true);
        auto inner = [&gen](const TensorD& u) { return tg::dropout(tg::exp(u), 0.4, true, gen); };
        auto outer = [&](const TensorD& z) {
            const TensorD d = tg::dropout(z, 0.2, true, gen);
            return (checkpointed ? tg::checkpoint<double>(inner, d) : inner(d)) * tg::dropout(z, 0.5, true, gen);
        };
        tg::sum(checkpointed ? tg::checkpoint<double>(outer, x) : outer(x)).backward();
        return Run{x.grad().value(), {}, gen.state()};
    };
    const Run plain = run(false);
    const Run checkpointed = run(true);
    CHECK(plain.x_grad == checkpointed.x_grad);
    CHECK(plain.state == checkpointed.state);
}

TEST_CASE("checkpoint: the activations a backward holds, counted in bytes", "[autograd][checkpoint][memory]") {
    // 16 tanh in a chain on a [4, 16] float64 x (512 bytes per activation), backward from a seed.
    // Without checkpointing the graph holds h1 ... h15. In 4 segments of 4 it holds the 3 segment
    // outputs that feed the next segment, plus, while one segment is computed or recomputed, the 3
    // activations inside it.
    auto chain = [](const TensorD& z) {
        TensorD h = z;
        for (int i = 0; i < 4; ++i) h = tg::tanh(h);
        return h;
    };
    auto peak = [&chain](bool checkpointed) {
        tg::Generator gen(2);
        const TensorD x = tg::randn<double>({4, 16}, gen, 0.0, 1.0, true);
        auto& tape = tg::Tape::current();
        const std::size_t base = tape.saved_bytes();
        tape.reset_peak_saved_bytes();
        TensorD h = x;
        for (int s = 0; s < 4; ++s) h = checkpointed ? tg::checkpoint<double>(chain, h) : chain(h);
        h.backward(tg::ones_like(h));
        CHECK(tape.saved_bytes() == base);  // all given back
        return tape.peak_saved_bytes() - base;
    };
    CHECK(peak(false) == 15 * 512);
    CHECK(peak(true) == 6 * 512);
}

TEST_CASE("saved_bytes: a graph recorded on another thread and freed on this one leaves both counts right",
          "[autograd][memory][threads]") {
    // The worker's mul saves exp(x), 2 doubles (x is a leaf: not counted). The graph is handed to
    // this thread and freed here; the bytes must leave the worker's count, not this thread's.
    auto& tape = tg::Tape::current();
    const std::size_t here_before = tape.saved_bytes();
    const TensorD x({1.0, 2.0}, true);
    std::promise<TensorD> made;
    std::promise<void> freed;
    std::size_t worker_alive = 0;
    std::size_t worker_after = 0;
    std::thread worker([&] {
        auto& worker_tape = tg::Tape::current();
        TensorD y = tg::exp(x) * x;
        // Read before handing y over: once it is handed over, this thread may free the graph.
        worker_alive = worker_tape.saved_bytes();
        made.set_value(std::move(y));
        freed.get_future().wait();
        worker_after = worker_tape.saved_bytes();
    });
    {
        TensorD y = made.get_future().get();
        CHECK(tape.saved_bytes() == here_before);
    }  // the graph is freed here
    freed.set_value();
    worker.join();
    CHECK(worker_alive == 16);
    CHECK(worker_after == 0);
    CHECK(tape.saved_bytes() == here_before);
    // This thread's peak still counts from its own base: one tanh saving a [2] double output.
    tape.reset_peak_saved_bytes();
    const TensorD h = tg::tanh(tg::tanh(x));
    CHECK(tape.peak_saved_bytes() - here_before == 16);
}

TEST_CASE("checkpoint: two threads, each with its own model and generator", "[autograd][checkpoint][threads]") {
    tg::Generator reference_gen(5);
    const Run reference = dropout_run(false, reference_gen);
    Run runs[2];
    std::thread threads[2];
    for (int t = 0; t < 2; ++t) {
        threads[t] = std::thread([&runs, t] {
            tg::Generator gen(5);
            for (int i = 0; i < 20; ++i) {
                gen = tg::Generator(5);
                runs[t] = dropout_run(true, gen);
            }
        });
    }
    for (auto& t : threads) t.join();
    for (const auto& run : runs) check_same(reference, run);
}

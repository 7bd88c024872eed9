// to_dot(), tape_summary() and graph_leaves(): the structure of the drawn graph for graphs worked out by hand, the
// bytes each node saves (elements x sizeof), released and changed inputs, escaping, errors, threads.
#include <catch2/catch.hpp>

#include <exception>
#include <regex>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include <tapegrad/autograd/autograd.hpp>
#include <tapegrad/ops/arithmetic.hpp>
#include <tapegrad/ops/elementwise.hpp>
#include <tapegrad/ops/reduce.hpp>
#include "dot_reader.hpp"
#include "says.hpp"

namespace tg = tapegrad;
using tg::TensorD;
using tg::TensorF;

namespace {

// s = sum(x * w + c): x [2, 3] and w [3] require grad, c [3] is a constant. In float64 the nodes
// save mul: x 48 + w 24 = 72 B, add: (x * w) 48 + c 24 = 72 B, sum: (x * w + c) 48 B.
struct Known {
    TensorD x{{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}};
    TensorD w{0.5, -1.0, 2.0};
    TensorD c{0.25, 0.5, 0.75};
    TensorD y, z, s;
    Known() {
        x.requires_grad_();
        w.requires_grad_();
        y = tg::mul(x, w);
        z = tg::add(y, c);
        s = tg::sum(z);
    }
    tg::NamedTensors<double> names() const { return {{"x", x}, {"w", w}, {"c", c}}; }
};

// Runs f on a new thread, whose tape starts empty: the counts f checks are exact whatever this
// thread's tape holds. Only one thread runs Catch2's assertions at a time (this one waits).
template <class F>
void on_fresh_tape(F f) {
    std::exception_ptr error;
    std::thread([&] {
        try {
            f();
        } catch (...) {
            error = std::current_exception();
        }
    }).join();
    if (error) std::rethrow_exception(error);
}

// h = exp(x), y = sum(h * h + h) for x [2, 3] in float64: exp saves x (48 B), mul saves h once
// (48 B), add h * h and h (96 B), sum h * h + h (48 B); 240 B in all, 192 B in distinct tensors
// (h is saved by mul and add).
struct Shared {
    TensorD x{{0.5, -1.0, 2.0}, {1.5, 0.0, -0.5}};
    TensorD h, y;
    Shared() {
        x.requires_grad_();
        h = tg::exp(x);
        y = tg::sum(h * h + h);
    }
};

}  // namespace

TEST_CASE("to_dot: sum(x * w + c) has the vertices, edges and byte counts worked out by hand", "[autograd][graph]") {
    Known k;
    const Dot dot = read_dot(tg::to_dot(k.s, k.names()));
    CHECK(dot.vertices.size() == 6);  // x, w, c and the three ops
    CHECK(dot.edges.size() == 5);     // x, w -> mul; mul, c -> add; add -> sum
    const auto x = dot.id("x\n[2, 3] float64");
    const auto w = dot.id("w\n[3] float64");
    const auto c = dot.id("c\n[3] float64");
    const auto mul = dot.id("mul\n[2, 3] float64\nsaved 72 B");
    const auto add = dot.id("add\n[2, 3] float64\nsaved 72 B");
    const auto sum = dot.id("sum\n[] float64\nsaved 48 B");
    CHECK(dot.edges_between(x, mul).size() == 1);
    CHECK(dot.edges_between(w, mul).size() == 1);
    CHECK(dot.edges_between(mul, add).size() == 1);
    CHECK(dot.edges_between(c, add).size() == 1);
    CHECK(dot.edges_between(add, sum).size() == 1);
    // Saved by all three, each tensor once: x 48 + w 24 + (x * w) 48 + c 24 + (x * w + c) 48.
    CHECK(dot.graph_label == "3 ops, 3 leaves, saved 192 B");
    CHECK(tg::saved_bytes(k.y) == 72);
    CHECK(tg::saved_bytes(k.s) == 48);
    CHECK(tg::saved_bytes(k.x) == 0);  // a leaf saves nothing
    // The documented numbering: inputs finish before the ops that use them.
    CHECK(x == 0);
    CHECK(w == 1);
    CHECK(mul == 2);
    CHECK(c == 3);
    CHECK(add == 4);
    CHECK(sum == 5);
}

TEST_CASE("to_dot: gradient-carrying edges are bold, a constant's dashed and grey", "[autograd][graph]") {
    Known k;
    const Dot dot = read_dot(tg::to_dot(k.s, k.names()));
    const auto add = dot.id("add\n[2, 3] float64\nsaved 72 B");
    const auto x_edge = dot.edges_between(dot.id("x\n[2, 3] float64"), dot.id("mul\n[2, 3] float64\nsaved 72 B"));
    const auto c_edge = dot.edges_between(dot.id("c\n[3] float64"), add);
    const auto op_edge = dot.edges_between(add, dot.id("sum\n[] float64\nsaved 48 B"));
    REQUIRE(x_edge.size() == 1);
    REQUIRE(c_edge.size() == 1);
    REQUIRE(op_edge.size() == 1);
    CHECK(x_edge[0].attrs == "style=bold");
    CHECK(op_edge[0].attrs == "style=bold");
    CHECK(c_edge[0].attrs == "style=dashed, color=gray50");
    // Leaves: blue when they require grad, grey when constant; ops boxed; the output filled green.
    CHECK(has(dot.vertex("x\n[2, 3] float64").attrs, "fillcolor=lightblue"));
    CHECK(has(dot.vertex("c\n[3] float64").attrs, "color=gray50"));
    CHECK_FALSE(has(dot.vertex("c\n[3] float64").attrs, "filled"));
    CHECK(has(dot.vertex("add\n[2, 3] float64\nsaved 72 B").attrs, "shape=box"));
    CHECK(has(dot.vertex("sum\n[] float64\nsaved 48 B").attrs, "fillcolor=darkolivegreen1"));
    CHECK_FALSE(has(dot.vertex("add\n[2, 3] float64\nsaved 72 B").attrs, "darkolivegreen1"));
}

TEST_CASE("to_dot: a shared subexpression is drawn once, with an edge per use", "[autograd][graph]") {
    Shared g;
    const Dot dot = read_dot(tg::to_dot(g.y, {{"x", g.x}}));
    CHECK(dot.vertices.size() == 5);  // x, exp, mul, add, sum
    CHECK(dot.edges.size() == 6);     // x -> exp; exp -> mul twice; mul, exp -> add; add -> sum
    const auto exp = dot.id("exp\n[2, 3] float64\nsaved 48 B");
    const auto mul = dot.id("mul\n[2, 3] float64\nsaved 48 B");  // h saved once: 6 x 8 B
    const auto add = dot.id("add\n[2, 3] float64\nsaved 96 B");  // h * h and h
    CHECK(dot.edges_between(exp, mul).size() == 2);
    CHECK(dot.edges_between(exp, add).size() == 1);
    CHECK(dot.edges_between(mul, add).size() == 1);
    CHECK(dot.graph_label == "4 ops, 1 leaves, saved 192 B");  // x, h, h * h, h * h + h
}

TEST_CASE("to_dot: the same tensor on both sides of x * x gives two edges and is saved once", "[autograd][graph]") {
    TensorF x({1.0F, 2.0F, 3.0F, 4.0F}, true);
    TensorF y = x * x;
    CHECK(tg::saved_bytes(y) == 16);  // 4 float32 elements, once
    const Dot dot = read_dot(tg::to_dot(y, {{"x", x}}));
    CHECK(dot.vertices.size() == 2);
    CHECK(dot.edges_between(dot.id("x\n[4] float32"), dot.id("mul\n[4] float32\nsaved 16 B")).size() == 2);
}

TEST_CASE("to_dot: several outputs are all highlighted, and a leaf output is drawn alone", "[autograd][graph]") {
    Known k;
    const Dot dot = read_dot(tg::to_dot(std::vector<TensorD>{k.y, k.z, k.y}, k.names()));
    CHECK(dot.vertices.size() == 5);  // x, w, c, mul, add: sum is not behind these outputs
    CHECK(has(dot.vertex("mul\n[2, 3] float64\nsaved 72 B").attrs, "darkolivegreen1"));
    CHECK(has(dot.vertex("add\n[2, 3] float64\nsaved 72 B").attrs, "darkolivegreen1"));
    CHECK_FALSE(has(dot.vertex("x\n[2, 3] float64").attrs, "darkolivegreen1"));

    const Dot leaf = read_dot(tg::to_dot(k.x));
    REQUIRE(leaf.vertices.size() == 1);
    CHECK(leaf.edges.empty());
    CHECK(leaf.vertices.at(0).label == "[2, 3] float64");  // no name given: the shape only
    CHECK(has(leaf.vertices.at(0).attrs, "darkolivegreen1"));
    CHECK(leaf.graph_label == "0 ops, 1 leaves, saved 0 B");
}

TEST_CASE("to_dot: after a backward without retain_graph the ops are drawn released", "[autograd][graph]") {
    Known k;
    k.s.backward({}, /*retain_graph=*/true);
    CHECK(read_dot(tg::to_dot(k.s)).vertices.size() == 6);  // retained: all there

    k.s.backward();
    const Dot dot = read_dot(tg::to_dot(std::vector<TensorD>{k.s, k.y}));
    // The released nodes kept no inputs: each op is alone, dashed, saving nothing.
    CHECK(dot.vertices.size() == 2);
    CHECK(dot.edges.empty());
    CHECK(has(dot.vertex("sum\n[] float64\nreleased").attrs, "dashed"));
    CHECK(has(dot.vertex("mul\n[2, 3] float64\nreleased").attrs, "dashed"));
    CHECK(dot.graph_label == "2 ops, 0 leaves, saved 0 B");
    CHECK(tg::saved_bytes(k.s) == 0);
}

TEST_CASE("to_dot: an input changed in place after recording is drawn red, as backward refuses it",
          "[autograd][graph]") {
    Known k;
    k.c.add_(1.0);  // a constant: allowed with grad mode on; bumps its version
    const Dot dot = read_dot(tg::to_dot(k.s, k.names()));
    const auto changed = dot.edges_between(dot.id("c\n[3] float64"), dot.id("add\n[2, 3] float64\nsaved 72 B"));
    REQUIRE(changed.size() == 1);
    CHECK(has(changed[0].attrs, "color=red"));
    CHECK(has(changed[0].attrs, "label=\"changed in place\""));
    // The other edges are as recorded.
    for (const auto& e : dot.edges)
        if (e.from != dot.id("c\n[3] float64")) CHECK_FALSE(has(e.attrs, "red"));
    CHECK_THROWS_AS(k.s.backward(), tg::AutogradError);
}

TEST_CASE("to_dot: names are DOT-escaped and read back unchanged", "[autograd][graph]") {
    TensorD x({1.0, 2.0}, true);
    TensorD y = tg::exp(x);
    const std::string odd = "say \"hi\" \\ {a|b} <c>\nline two";
    const std::string text = tg::to_dot(y, {{odd, x}, {"tab\there", y}});
    CHECK(text.find("say \\\"hi\\\" \\\\ {a|b} <c>\\nline two") != std::string::npos);
    const Dot dot = read_dot(text);
    CHECK(dot.with_label(odd + "\n[2] float64").size() == 1);
    CHECK(dot.with_label("tab here\nexp\n[2] float64\nsaved 16 B").size() == 1);  // a tab becomes a space
}

TEST_CASE("to_dot: the first name given wins, op outputs can be named, strangers are ignored", "[autograd][graph]") {
    Known k;
    TensorD elsewhere({1.0}, true);
    const Dot dot = read_dot(tg::to_dot(k.s, {{"input", k.x}, {"again", k.x}, {"hidden", k.z}, {"other", elsewhere}}));
    CHECK(dot.with_label("input\n[2, 3] float64").size() == 1);
    CHECK(dot.with_label("hidden\nadd\n[2, 3] float64\nsaved 72 B").size() == 1);
    CHECK(dot.vertices.size() == 6);
    for (const auto& [id, v] : dot.vertices) {
        CHECK(v.label.find("again") == std::string::npos);
        CHECK(v.label.find("other") == std::string::npos);
    }
}

TEST_CASE("to_dot: the same graph built twice gives the same text", "[autograd][graph]") {
    const std::string first = tg::to_dot(Known().s);
    Known later;  // recorded later on the tape, at other addresses
    CHECK(tg::to_dot(later.s) == first);
    CHECK(tg::to_dot(later.s) == tg::to_dot(later.s));
}

TEST_CASE("to_dot: no outputs, an undefined output or named tensor, and an empty name are ValueErrors",
          "[autograd][graph][errors]") {
    Known k;
    CHECK_THROWS_MATCHES(tg::to_dot(std::vector<TensorD>{}), tg::ValueError, Says("to_dot: no outputs"));
    CHECK_THROWS_MATCHES(tg::to_dot(std::vector<TensorD>{k.s, TensorD()}), tg::ValueError,
                         Says("to_dot: output 1 of 2 is undefined"));
    CHECK_THROWS_MATCHES(tg::to_dot(k.s, {{"ghost", TensorD()}}), tg::ValueError,
                         Says("to_dot: the tensor named 'ghost' is undefined"));
    CHECK_THROWS_MATCHES(tg::to_dot(k.s, {{"", k.x}}), tg::ValueError, Says("empty name") && Says("[2, 3]"));
    CHECK_THROWS_MATCHES(tg::saved_bytes(TensorD()), tg::ValueError, Says("saved_bytes"));
    // Nothing was changed: the graph still differentiates.
    k.s.backward();
    CHECK(k.w.grad().value()(0) == Approx(5.0));  // d/dw_j sum_i x_ij w_j = sum_i x_ij
}

TEST_CASE("to_dot: byte counts read in KiB and MiB when large", "[autograd][graph]") {
    auto small = tg::zeros<double>({256, 4}, true);  // 1024 x 8 B = 8 KiB
    CHECK(tg::saved_bytes(tg::exp(small)) == 8192);
    CHECK(read_dot(tg::to_dot(tg::exp(small))).with_label("exp\n[256, 4] float64\nsaved 8.0 KiB").size() == 1);
    auto big = tg::zeros<float>({1024, 768}, true);  // 786432 x 4 B = 3 MiB
    CHECK(read_dot(tg::to_dot(tg::exp(big))).with_label("exp\n[1024, 768] float32\nsaved 3.0 MiB").size() == 1);
}

TEST_CASE("to_dot: a 100k-op chain is drawn without recursion", "[autograd][graph]") {
    constexpr std::size_t n = 100'000;
    auto x = tg::full<double>({1}, 1.0, true);
    const TensorD one(1.0);  // 0-d: every mul saves y (8 B) and it
    TensorD y = x;
    for (std::size_t i = 0; i < n; ++i) y = y * one;
    const std::string text = tg::to_dot(y);
    // Counted, not parsed: every mul and the two leaves once, two edges per mul.
    const auto count = [&](const std::string& needle) {
        std::size_t found = 0;
        for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++found;
        return found;
    };
    CHECK(count("[label=\"mul\\n") == n);
    CHECK(count(" -> ") == 2 * n);
    CHECK(text.find(fmt::format("{} ops, 2 leaves", n)) != std::string::npos);
}

TEST_CASE("to_dot: a graph recorded on another thread is drawn here", "[autograd][graph]") {
    TensorD x({1.0, 2.0}, true);
    TensorD y;
    std::thread([&] { y = tg::exp(x) * x; }).join();
    const Dot dot = read_dot(tg::to_dot(y, {{"x", x}}));
    CHECK(dot.vertices.size() == 3);
    CHECK(dot.edges.size() == 3);
}

TEST_CASE("tape_summary: one row per live op, the total their sum", "[autograd][graph]") {
    on_fresh_tape([] {
        Shared g;
        const auto ops = tg::tape_ops();
        REQUIRE(ops.size() == 4);
        CHECK(ops[0].name == "exp");
        CHECK(ops[1].name == "mul");
        CHECK(ops[2].name == "add");
        CHECK(ops[3].name == "sum");
        CHECK(ops[0].sequence < ops[1].sequence);
        CHECK(ops[0].shape == tg::Shape{2, 3});
        CHECK(ops[3].shape == tg::Shape{});
        CHECK(std::string(ops[0].dtype) == "float64");
        CHECK(ops[0].saved_bytes == 48);
        CHECK(ops[1].saved_bytes == 48);
        CHECK(ops[2].saved_bytes == 96);
        CHECK(ops[3].saved_bytes == 48);

        // The text: a header, a row per op whose last column is its saved bytes, then the total.
        const std::string text = tg::tape_summary();
        INFO(text);
        const std::regex row(R"( *([0-9]+)  (\w+) +(\[[0-9, ]*\]) +(float64|float32) +([0-9]+))");
        std::istringstream in(text);
        std::string line;
        std::getline(in, line);
        CHECK(line.find("seq") != std::string::npos);
        CHECK(line.find("saved bytes") != std::string::npos);
        std::size_t rows = 0;
        std::size_t sum = 0;
        std::smatch m;
        while (std::getline(in, line) && std::regex_match(line, m, row)) {
            CHECK(m[2] == ops[rows].name);
            ++rows;
            sum += std::stoul(m[5]);
        }
        CHECK(rows == 4);
        CHECK(sum == 240);
        CHECK(line == "Total: 4 ops, 240 saved bytes (192 in distinct tensors: one saved by several ops counts once)");
    });
}

TEST_CASE("tape_summary: a backward without retain_graph empties it, a dropped output removes its row",
          "[autograd][graph]") {
    on_fresh_tape([] {
        Known k;
        { TensorD extra = tg::exp(k.s); }  // recorded, then its output dropped: the node goes with it
        CHECK(tg::tape_ops().size() == 3);
        k.s.backward({}, /*retain_graph=*/true);
        CHECK(tg::tape_ops().size() == 3);
        CHECK(tg::tape_summary().find("Total: 3 ops, 192 saved bytes") != std::string::npos);
        k.s.backward();
        CHECK(tg::tape_ops().empty());
        CHECK(tg::tape_summary().find("Total: 0 ops, 0 saved bytes (0 in distinct") != std::string::npos);
    });
}

TEST_CASE("tape_summary: top N lists the largest savers first and the total still counts all", "[autograd][graph]") {
    on_fresh_tape([] {
        auto a = tg::zeros<float>({1}, true);   // exp(a) saves 4 B
        auto b = tg::zeros<float>({10}, true);  // 40 B
        auto c = tg::zeros<float>({5}, true);   // 20 B
        auto d = tg::zeros<float>({10}, true);  // 40 B, recorded after b's
        std::vector<TensorF> outs{tg::exp(a), tg::exp(b), tg::exp(c), tg::exp(d)};
        const auto seq = tg::tape_ops();
        REQUIRE(seq.size() == 4);
        const std::string text = tg::tape_summary(2);
        INFO(text);
        std::istringstream in(text);
        std::string line;
        std::getline(in, line);
        CHECK(line == "The 2 of 4 ops with the most saved bytes:");
        std::getline(in, line);  // the header
        const std::regex row(R"( *([0-9]+)  exp +\[10\] +float32 +40)");
        std::smatch m;
        std::getline(in, line);
        REQUIRE(std::regex_match(line, m, row));
        CHECK(std::stoull(m[1]) == seq[1].sequence);  // b's: of the two 40s, the earlier first
        std::getline(in, line);
        REQUIRE(std::regex_match(line, m, row));
        CHECK(std::stoull(m[1]) == seq[3].sequence);
        std::getline(in, line);
        CHECK(line == "Total: 4 ops, 104 saved bytes (104 in distinct tensors: one saved by several ops counts once)");
        CHECK(tg::tape_summary(10) == tg::tape_summary());  // N past the count: every row, in tape order
    });
}

TEST_CASE("tape_summary: each thread lists only its own ops", "[autograd][graph]") {
    on_fresh_tape([] {
        Known k;  // 3 ops on this thread
        std::size_t seen_there = 0;
        std::string there;
        std::thread([&] {
            TensorD x({1.0, 2.0}, true);
            TensorD y = tg::exp(x);
            seen_there = tg::tape_ops().size();
            there = tg::tape_summary();
        }).join();
        CHECK(seen_there == 1);
        CHECK(there.find("Total: 1 ops, 16 saved bytes") != std::string::npos);
        CHECK(tg::tape_ops().size() == 3);
    });
}

TEST_CASE("graph_leaves: the leaves requiring grad that the outputs reach, each once", "[autograd][graph]") {
    Known k;  // s = sum(x * w + c): x and w require grad, c does not
    TensorD v{1.0, 2.0, 3.0};
    v.requires_grad_();  // requires grad, but not in s's graph
    const auto leaves = tg::graph_leaves(std::vector<TensorD>{k.s});
    REQUIRE(leaves.size() == 2);  // post-order: mul's inputs x, then w
    CHECK(leaves[0].id() == k.x.id());
    CHECK(leaves[1].id() == k.w.id());

    // x used twice and v once, across two outputs: each leaf once; an undefined output is skipped.
    const TensorD t = tg::sum(k.x * k.x) + tg::sum(v);
    const auto both = tg::graph_leaves(std::vector<TensorD>{t, TensorD(), k.s});
    REQUIRE(both.size() == 3);
    CHECK(both[0].id() == k.x.id());
    CHECK(both[1].id() == v.id());
    CHECK(both[2].id() == k.w.id());

    CHECK(tg::graph_leaves(std::vector<TensorD>{v}).size() == 1);      // a leaf output is its own leaf
    CHECK(tg::graph_leaves(std::vector<TensorD>{k.c * 2.0}).empty());  // nothing requires grad
}

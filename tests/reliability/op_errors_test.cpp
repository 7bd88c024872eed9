// Every error row of the op table (tests/ops), run again to check what the op-table test does
// not: a refused call leaves its inputs exactly as they were (value, version, gradient,
// requires_grad) and records nothing on the tape.
#include <catch2/catch.hpp>

#include "ops/op_table.hpp"
#include "snapshot.hpp"

using namespace optable;

namespace {

// Gives every input a gradient, so that a refused call touching .grad() would show.
void give_grads(Inputs64& inputs) {
    for (auto& x : inputs) {
        if (x.defined()) x.mutable_grad() = tg::full<double>(x.shape(), 0.5);
    }
}

std::size_t count_errors() {
    std::size_t n = 0;
    for (const auto& row : op_table()) n += row.errors.size();
    return n;
}

}  // namespace

TEST_CASE("reliability: every op error row leaves its inputs and the tape unchanged", "[reliability][errors]") {
    CHECK(count_errors() >= 30);  // the table was found and is not empty
    for (const auto& row : op_table()) {
        for (const auto& error : row.errors) {
            DYNAMIC_SECTION(row.name << ": " << error.what) {
                Inputs64 inputs = make_inputs(row, error.shapes, 400);
                give_grads(inputs);
                const auto before = reliability::snapshot_all(inputs);
                const std::size_t tape_before = tg::Tape::current().size();
                bool typed = false;
                std::string message = "no exception";
                try {
                    error.call(inputs);
                } catch (const tg::ShapeError& e) {
                    typed = error.expect == Expect::Shape;
                    message = e.what();
                } catch (const tg::ValueError& e) {
                    typed = error.expect == Expect::Value;
                    message = e.what();
                }
                INFO("message: " << message);
                CHECK(typed);
                for (const auto& fragment : error.fragments) CHECK_THAT(message, Catch::Contains(fragment));
                CHECK(reliability::changes_all(before, inputs) == "");
                CHECK(tg::Tape::current().size() == tape_before);
            }
        }
    }
}

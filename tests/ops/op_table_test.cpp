// Generic tests over the op table: one section per row, so a failure names the op.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "op_table.hpp"

using namespace optable;

namespace {

std::string shapes_str(const std::vector<Shape>& shapes) {
    std::vector<std::string> parts;
    for (const auto& s : shapes) parts.push_back(tg::shape_str(s));
    return fmt::format("({})", fmt::join(parts, ", "));
}

std::vector<Array> values_of(const Inputs64& inputs) {
    std::vector<Array> values;
    for (const auto& x : inputs) values.push_back(x.value());
    return values;
}

// "" when y matches the reference within tol (relative + absolute), else where and by how much.
std::string compare(const Array& y, const Array& r, double tol) {
    if (!std::equal(y.shape().begin(), y.shape().end(), r.shape().begin(), r.shape().end())) {
        return fmt::format("shape {} but the reference has shape {}",
                           tg::shape_str(Shape(y.shape().begin(), y.shape().end())),
                           tg::shape_str(Shape(r.shape().begin(), r.shape().end())));
    }
    for (std::size_t i = 0; i < y.size(); ++i) {
        const double a = y.data()[i], b = r.data()[i];
        if (!(std::abs(a - b) <= tol * (1 + std::abs(b)))) {
            return fmt::format("flat element {}: op gives {:.17g}, reference {:.17g} (tolerance {})", i, a, b, tol);
        }
    }
    return "";
}

tg::GradcheckOptions options_for(const OpInfo& row) {
    tg::GradcheckOptions o;
    o.atol = row.tol.grad_atol;
    o.rtol = row.tol.grad_rtol;
    return o;
}

// True when the row's Jacobian has no entries, so gradcheck compares nothing: every input, or the
// output, holds no element (the size-0 cases).
bool empty_jacobian(const OpInfo& row, const Inputs64& inputs) {
    if (std::all_of(inputs.begin(), inputs.end(), [](const tg::TensorD& x) { return x.numel() == 0; })) return true;
    tg::NoGradGuard no_grad;
    return row.fn.f64(inputs).numel() == 0;
}

// "a,b,c" -> {"a", "b", "c"}: the lists the build passes (tests/ops/CMakeLists.txt).
std::vector<std::string> split(const std::string& list) {
    std::vector<std::string> out;
    std::stringstream in(list);
    for (std::string item; std::getline(in, item, ',');) out.push_back(item);
    return out;
}

}  // namespace

TEST_CASE("ops: every row's gradient matches finite differences (float64)", "[ops][gradcheck]") {
    for (const auto& row : op_table()) {
        DYNAMIC_SECTION(row.name) {
            for (std::size_t c = 0; c < row.cases.size(); ++c) {
                INFO("shapes " << shapes_str(row.cases[c]));
                const Inputs64 inputs = make_inputs(row, row.cases[c], 100 + c);
                const auto result = tg::gradcheck<double>(row.fn.f64, inputs, options_for(row));
                INFO(result.report());
                CHECK(result.ok);
                CHECK((result.checked > 0 || empty_jacobian(row, inputs)));
            }
        }
    }
}

TEST_CASE("ops: every row's second derivative matches finite differences (float64)", "[ops][gradgradcheck]") {
    for (const auto& row : op_table()) {
        DYNAMIC_SECTION(row.name) {
            for (std::size_t c = 0; c < row.cases.size(); ++c) {
                INFO("shapes " << shapes_str(row.cases[c]));
                const auto result =
                    tg::gradgradcheck<double>(row.fn.f64, make_inputs(row, row.cases[c], 200 + c), options_for(row));
                INFO(result.report());
                CHECK(result.ok);
            }
        }
    }
}

TEST_CASE("ops: every row's forward matches its reference (float64 and float32)", "[ops][forward]") {
    for (const auto& row : op_table()) {
        DYNAMIC_SECTION(row.name) {
            for (std::size_t c = 0; c < row.cases.size(); ++c) {
                INFO("shapes " << shapes_str(row.cases[c]));
                const Inputs64 inputs = make_inputs(row, row.cases[c], 300 + c);
                CHECK(compare(row.fn.f64(inputs).value(), row.reference(values_of(inputs)), row.tol.fwd64) == "");
                Inputs32 inputs32;
                Inputs64 rounded;  // the float32 inputs' exact values, for the reference
                for (const auto& x : inputs) {
                    inputs32.push_back(x.to<float>(x.requires_grad()));
                    rounded.push_back(inputs32.back().to<double>());
                }
                const tg::TensorF y = row.fn.f32(inputs32);
                CHECK(compare(y.to<double>().value(), row.reference(values_of(rounded)), row.tol.fwd32) == "");
            }
        }
    }
}

TEST_CASE("ops: bad arguments throw the documented error naming op, argument and shapes", "[ops][errors]") {
    for (const auto& row : op_table()) {
        for (const auto& error : row.errors) {
            DYNAMIC_SECTION(row.name << ": " << error.what) {
                const Inputs64 inputs = make_inputs(row, error.shapes, 400);
                std::string outcome = "no exception";
                try {
                    error.call(inputs);
                } catch (const tg::ShapeError& e) {
                    outcome =
                        error.expect == Expect::Shape ? e.what() : fmt::format("ShapeError instead: {}", e.what());
                } catch (const tg::ValueError& e) {
                    outcome =
                        error.expect == Expect::Value ? e.what() : fmt::format("ValueError instead: {}", e.what());
                } catch (const std::exception& e) {
                    outcome = fmt::format("another exception: {}", e.what());
                }
                INFO("message: " << outcome);
                for (const auto& fragment : error.fragments) {
                    INFO("expected fragment: " << fragment);
                    CHECK(outcome.find(fragment) != std::string::npos);
                }
            }
        }
    }
}

TEST_CASE("ops: every op declared in ops/*.hpp and autograd/broadcast.hpp has a row", "[ops][coverage]") {
    const std::string root = TAPEGRAD_SOURCE_DIR;
    // The ops layer's public headers as ops/sources.cmake finds them (every ops/*.hpp but the
    // internal ones), and the engine's broadcast_to / sum_to.
    const std::vector<std::string> headers = split(TAPEGRAD_OP_HEADERS);
    CHECK(headers.size() >= 9);
    // A declaration line: "Tensor<T> name(", "std::vector<Tensor<T>> name(" (split, chunk) or
    // "ValuesAndIndices<T> name(" (max along a dim, sort); operators do not match: their names are
    // not words.
    const std::regex declaration(R"(^\s*(?:Tensor<T>|std::vector<Tensor<T>>|ValuesAndIndices<T>)\s+(\w+)\s*\()");
    std::set<std::string> declared;
    for (const auto& header : headers) {
        std::ifstream in(root + "/" + header);
        INFO("reading " << root << "/" << header);
        REQUIRE(in.good());
        std::string line;
        std::smatch m;
        while (std::getline(in, line)) {
            if (std::regex_search(line, m, declaration)) declared.insert(m[1]);
        }
    }
    std::set<std::string> covered;
    for (const auto& row : op_table()) covered.insert(row.op);
    CHECK(declared.size() >= 40);  // the parser found the declarations at all
    for (const auto& name : declared) {
        INFO("op without a row in the op table: " << name);
        CHECK(covered.count(name) == 1);
    }
    for (const auto& name : covered) {
        INFO("row for an op that is not declared: " << name);
        CHECK(declared.count(name) == 1);
    }
}

TEST_CASE("ops: every table file tests/ops/rows_*.cpp registers one family", "[ops][coverage]") {
    std::multiset<std::string> registered_files;
    std::set<std::string> names;
    std::set<int> orders;
    for (const Family* family : families()) {
        INFO("family " << family->name << " from " << family->file);
        CHECK(family->rows != nullptr);
        CHECK(names.insert(family->name).second);    // names differ
        CHECK(orders.insert(family->order).second);  // and so do places: the README's order is fixed
        registered_files.insert(std::filesystem::path(family->file).filename().string());
    }
    const std::vector<std::string> files = split(TAPEGRAD_OP_TABLE_FILES);
    CHECK(files.size() >= 4);
    for (const auto& file : files) {
        INFO("table file " << file << " registered no family, or more than one");
        CHECK(registered_files.count(file) == 1);
    }
    CHECK(registered_files.size() == files.size());
}

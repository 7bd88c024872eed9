// safetensors: the writer against the format's bytes, the reader on files built byte by byte here
// (values known exactly in every dtype), every rule of the format broken once, and the module
// convenience functions over state_dict.
#include <catch2/catch.hpp>

#include <bit>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>
#include "autograd/says.hpp"
#include "data/files.hpp"

namespace tg = tapegrad;
namespace data = tapegrad::data;
namespace nn = tapegrad::nn;
using testing::Bytes;

namespace {

void append(Bytes& out, const void* p, std::size_t n) {
    const auto* bytes = static_cast<const std::uint8_t*>(p);
    out.insert(out.end(), bytes, bytes + n);
}

// A safetensors file by hand: the header length as given (the JSON's own length by default),
// the JSON, then the data bytes.
Bytes file_of(const std::string& header, const Bytes& payload, std::uint64_t length = ~std::uint64_t{0}) {
    if (length == ~std::uint64_t{0}) length = header.size();
    Bytes out;
    append(out, &length, 8);
    append(out, header.data(), header.size());
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
}

template <class S>
Bytes little_endian(const std::vector<S>& values) {
    Bytes out;
    for (const S& v : values) append(out, &v, sizeof(S));
    return out;
}

// One tensor named "t".
std::string one(const std::string& dtype, const std::string& shape, std::size_t begin, std::size_t end) {
    return R"({"t":{"dtype":")" + dtype + R"(","shape":)" + shape + R"(,"data_offsets":[)" + std::to_string(begin) +
           "," + std::to_string(end) + "]}}";
}

struct Written {
    testing::TempDir dir;
    std::string path = dir.file("w.safetensors");
    explicit Written(const Bytes& bytes) { testing::write_plain(path, bytes); }
};

// Opening the file throws IoError whose message names the file and contains `fragment`.
void refused(const Bytes& bytes, const std::string& fragment) {
    Written f(bytes);
    CHECK_THROWS_MATCHES(data::SafetensorsFile(f.path), tg::IoError, Says(f.path) && Says(fragment));
}

// The tensor "t" of the file (its value() is what the checks compare).
template <class T>
tg::Tensor<T> load_one(const Bytes& bytes) {
    Written f(bytes);
    return data::SafetensorsFile(f.path).load<T>("t");
}

}  // namespace

TEST_CASE("write_safetensors: the reference implementation's bytes (metadata first, names sorted, padded to 8)",
          "[data][safetensors]") {
    testing::TempDir dir;
    const std::string path = dir.file("m.safetensors");
    data::write_safetensors<float>(path, {{"b", tg::Tensor<float>({1.5f, -2.0f})}, {"a", tg::Tensor<float>(3.0f)}},
                                   {{"format", "pt"}});
    std::string json = R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},)"
                       R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
    json.append((8 - json.size() % 8) % 8, ' ');
    CHECK(json.size() % 8 == 0);
    CHECK(testing::read_all(path) == file_of(json, little_endian<float>({3.0f, 1.5f, -2.0f})));
    const std::filesystem::directory_iterator end;
    CHECK(std::distance(std::filesystem::directory_iterator(dir.path()), end) == 1);  // no temporary left
}

TEST_CASE("write_safetensors then read_safetensors: float64 and float32 round trip bit for bit, empty and 0-d too",
          "[data][safetensors]") {
    testing::TempDir dir;
    const std::string path = dir.file("r.safetensors");
    const double tiny = std::numeric_limits<double>::denorm_min();
    const data::NamedTensors<double> tensors{{"w", tg::TensorD({{0.1, -1e300}, {tiny, 7.0}})},
                                             {"e", tg::TensorD(xt::xarray<double>::from_shape({0, 3}))},
                                             {"s", tg::TensorD(-0.0)}};
    data::write_safetensors(path, tensors);
    const auto back = data::read_safetensors<double>(path);
    REQUIRE(back.size() == 3);
    // In the order of the data: sorted by name.
    CHECK(back[0].first == "e");
    CHECK(back[0].second.shape() == tg::Shape{0, 3});
    CHECK(back[1].first == "s");
    CHECK(std::signbit(back[1].second.item()));
    CHECK(back[2].first == "w");
    CHECK(back[2].second.value() == tensors[0].second.value());
    CHECK(data::SafetensorsFile(path).metadata().empty());

    data::write_safetensors<float>(path, {{"x", tg::Tensor<float>({{1e-40f, 3.25f}})}}, {{"k", "v"}, {"a", "b"}});
    const data::SafetensorsFile file(path);
    CHECK(file.metadata() == data::SafetensorsMetadata{{"a", "b"}, {"k", "v"}});
    CHECK(file.entries()[0].dtype == "F32");
    CHECK(file.load<float>("x").value() == xt::xarray<float>({{1e-40f, 3.25f}}));
    CHECK(file.load<double>("x").value() == xt::xarray<double>({{double(1e-40f), 3.25}}));
}

TEST_CASE("write_safetensors: an existing file is replaced whole", "[data][safetensors]") {
    testing::TempDir dir;
    const std::string path = dir.file("x.safetensors");
    testing::write_plain(path, Bytes(1000, 7));
    data::write_safetensors<double>(path, {{"a", tg::TensorD({1.0})}});
    CHECK(testing::read_all(path).size() == 8 + 56 + 8);  // the 54-byte JSON padded to 56
    CHECK(data::read_safetensors<double>(path)[0].second.item() == 1.0);
}

TEST_CASE("write_safetensors: bad names and undefined tensors are refused before anything is written",
          "[data][safetensors][errors]") {
    testing::TempDir dir;
    const std::string path = dir.file("n.safetensors");
    const tg::TensorD one_value({1.0});
    CHECK_THROWS_MATCHES(data::write_safetensors<double>(path, {{"a", one_value}, {"a", one_value}}), tg::ValueError,
                         Says("'a' is given twice"));
    CHECK_THROWS_MATCHES(data::write_safetensors<double>(path, {{"__metadata__", one_value}}), tg::ValueError,
                         Says("'__metadata__' cannot name a tensor"));
    CHECK_THROWS_MATCHES(data::write_safetensors<double>(path, {{"", one_value}}), tg::ValueError,
                         Says("'' cannot name a tensor"));
    CHECK_THROWS_MATCHES(data::write_safetensors<double>(path, {{"u", tg::TensorD()}}), tg::ValueError,
                         Says("tensor 'u' is undefined"));
    CHECK_THROWS_MATCHES(data::write_safetensors<double>(path, {{"\xff", one_value}}), tg::ValueError,
                         Says("not valid UTF-8"));
    CHECK(std::filesystem::is_empty(dir.path()));
}

TEST_CASE("SafetensorsFile: F16 read exactly (normal, subnormal, largest, infinity)", "[data][safetensors]") {
    // 1, -2, 0.5, 2^-24 (the smallest subnormal), 65504 (the largest), -inf
    const auto bytes = file_of(one("F16", "[2,3]", 0, 12),
                               little_endian<std::uint16_t>({0x3C00, 0xC000, 0x3800, 0x0001, 0x7BFF, 0xFC00}));
    const xt::xarray<double> expected{{1.0, -2.0, 0.5}, {std::ldexp(1.0, -24), 65504.0, -INFINITY}};
    CHECK(load_one<double>(bytes).value() == expected);
    CHECK(load_one<float>(bytes).value() == xt::xarray<float>(xt::cast<float>(expected)));
}

TEST_CASE("SafetensorsFile: BF16 read exactly", "[data][safetensors]") {
    // 1, -0.15625, 3.0, the smallest normal 2^-126
    const auto bytes =
        file_of(one("BF16", "[4]", 0, 8), little_endian<std::uint16_t>({0x3F80, 0xBE20, 0x4040, 0x0080}));
    CHECK(load_one<double>(bytes).value() == xt::xarray<double>({1.0, -0.15625, 3.0, std::ldexp(1.0, -126)}));
}

TEST_CASE("SafetensorsFile: I64 and I32 converted exactly, PyTorch's num_batches_tracked a 0-d I64",
          "[data][safetensors]") {
    const std::int64_t big = std::int64_t{1} << 53;
    const auto i64 = file_of(one("I64", "[3]", 0, 24), little_endian<std::int64_t>({-3, 0, big}));
    CHECK(load_one<double>(i64).value() == xt::xarray<double>({-3.0, 0.0, 9007199254740992.0}));
    CHECK(load_one<double>(file_of(one("I64", "[]", 0, 8), little_endian<std::int64_t>({12345}))).value() ==
          xt::xarray<double>(12345.0));
    CHECK(load_one<float>(file_of(one("I32", "[2]", 0, 8), little_endian<std::int32_t>({7, -16777216}))).value() ==
          xt::xarray<float>({7.0f, -16777216.0f}));
}

TEST_CASE("SafetensorsFile: an integer the float type cannot hold exactly is refused, naming the element",
          "[data][safetensors][errors]") {
    Written f(file_of(one("I64", "[2]", 0, 16), little_endian<std::int64_t>({1, (std::int64_t{1} << 24) + 1})));
    const data::SafetensorsFile file(f.path);
    CHECK_THROWS_MATCHES(file.load<float>("t"), tg::ValueError,
                         Says(f.path) && Says("tensor 't' (I64): element 1 is 16777217") && Says("float32"));
    CHECK(file.load<double>("t").value() == xt::xarray<double>({1.0, 16777217.0}));
    Written g(file_of(one("I64", "[1]", 0, 8), little_endian<std::int64_t>({(std::int64_t{1} << 53) + 1})));
    CHECK_THROWS_MATCHES(data::SafetensorsFile(g.path).load<double>("t"), tg::ValueError, Says("float64"));
}

TEST_CASE("SafetensorsFile: BOOL read as 0 and 1, another byte refused", "[data][safetensors]") {
    CHECK(load_one<float>(file_of(one("BOOL", "[3]", 0, 3), {0, 1, 1})).value() ==
          xt::xarray<float>({0.0f, 1.0f, 1.0f}));
    Written f(file_of(one("BOOL", "[2]", 0, 2), {1, 2}));
    CHECK_THROWS_MATCHES(data::SafetensorsFile(f.path).load<float>("t"), tg::IoError,
                         Says(f.path) && Says("byte 1 is 2, not 0 or 1"));
}

TEST_CASE("SafetensorsFile: 8-bit floats are known to the format but refused on load", "[data][safetensors][errors]") {
    Written f(file_of(one("F8_E4M3", "[2]", 0, 2), {0x38, 0x40}));
    const data::SafetensorsFile file(f.path);
    CHECK(file.entry("t").dtype == "F8_E4M3");
    CHECK_THROWS_MATCHES(file.load<float>("t"), tg::ValueError, Says(f.path) && Says("'t' is F8_E4M3"));
    CHECK_THROWS_MATCHES(file.load<float>("u"), tg::ValueError, Says("no tensor named 'u'"));
}

TEST_CASE("SafetensorsFile: a tensor whose data is not aligned (no header padding) is read", "[data][safetensors]") {
    // A 54-byte header: the F32 data starts at byte 62 of the file.
    const std::string header = one("F32", "[2]", 0, 8);
    REQUIRE((8 + header.size()) % 4 != 0);
    CHECK(load_one<float>(file_of(header, little_endian<float>({0.25f, -8.0f}))).value() ==
          xt::xarray<float>({0.25f, -8.0f}));
}

TEST_CASE("SafetensorsFile: malformed: shorter than the 8-byte length", "[data][safetensors][errors]") {
    refused({1, 0, 0}, "3 bytes, too short for the 8-byte header length");
}

TEST_CASE("SafetensorsFile: malformed: header length over the 100 MB limit", "[data][safetensors][errors]") {
    refused(file_of("{}", {}, 100'000'001), "exceeds the limit of 100000000 bytes");
}

TEST_CASE("SafetensorsFile: malformed: header length past the end of the file", "[data][safetensors][errors]") {
    refused(file_of("{}", {}, 3), "the header length is 3 bytes, but only 2 bytes follow it");
}

TEST_CASE("SafetensorsFile: malformed: header not a JSON object", "[data][safetensors][errors]") {
    refused(file_of("[1, 2]  ", {}), "does not start with '{'");
    refused(file_of("", {}), "does not start with '{'");
}

TEST_CASE("SafetensorsFile: malformed: header not valid JSON", "[data][safetensors][errors]") {
    refused(file_of(R"({"t":{"dtype":"F32",)", {}), "not valid JSON");
    refused(file_of("{\"\xff\":1}", {}), "not valid JSON");  // not UTF-8
}

TEST_CASE("SafetensorsFile: malformed: a tensor named twice", "[data][safetensors][errors]") {
    const std::string entry = R"({"dtype":"F32","shape":[1],"data_offsets":[0,4]})";
    refused(file_of(R"({"t":)" + entry + R"(,"t":)" + entry + "}", little_endian<float>({1.0f})),
            "gives the key 't' twice");
}

TEST_CASE("SafetensorsFile: malformed: a field given twice in an entry", "[data][safetensors][errors]") {
    refused(file_of(R"({"t":{"dtype":"F32","dtype":"F64","shape":[1],"data_offsets":[0,4]}})",
                    little_endian<float>({1.0f})),
            "gives the key 'dtype' twice");
}

TEST_CASE("SafetensorsFile: malformed: unknown dtype", "[data][safetensors][errors]") {
    refused(file_of(one("F128", "[1]", 0, 16), Bytes(16, 0)), "tensor 't': unknown dtype 'F128'");
}

TEST_CASE("SafetensorsFile: malformed: entry without dtype, shape or offsets, or not an object",
          "[data][safetensors][errors]") {
    refused(file_of(R"({"t":{"shape":[1],"data_offsets":[0,4]}})", Bytes(4, 0)), "tensor 't': no dtype string");
    refused(file_of(R"({"t":{"dtype":"F32","data_offsets":[0,4]}})", Bytes(4, 0)), "tensor 't': no shape array");
    refused(file_of(R"({"t":{"dtype":"F32","shape":[1]}})", Bytes(4, 0)), "data_offsets is not an array of two");
    refused(file_of(R"({"t":[0,4]})", Bytes(4, 0)), "tensor 't': its entry is not an object");
}

TEST_CASE("SafetensorsFile: malformed: negative or fractional dimension", "[data][safetensors][errors]") {
    refused(file_of(one("F32", "[-1]", 0, 4), Bytes(4, 0)), "shape holds -1, not a non-negative integer");
    refused(file_of(one("F32", "[1.0]", 0, 4), Bytes(4, 0)), "shape holds 1.0, not a non-negative integer");
}

TEST_CASE("SafetensorsFile: malformed: nesting deeper than 128 levels", "[data][safetensors][errors]") {
    // 128 levels in all (in a field the reader ignores) are read, as the reference reads them; 129 are not.
    const auto nested = [](int levels) {
        return R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":)" + std::string(levels - 2, '[') +
               std::string(levels - 2, ']') + "}}";
    };
    Written ok(file_of(nested(128), little_endian<float>({1.0f})));
    CHECK(data::SafetensorsFile(ok.path).load<float>("t").item() == 1.0f);
    refused(file_of(nested(129), little_endian<float>({1.0f})), "nests deeper than 128 levels");
    refused(file_of(one("F32", "[[1]]", 0, 4), Bytes(4, 0)), "shape holds array, not a non-negative integer");
}

TEST_CASE("SafetensorsFile: malformed: data_offsets of three numbers", "[data][safetensors][errors]") {
    refused(file_of(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}})", Bytes(4, 0)),
            "data_offsets is not an array of two integers");
}

TEST_CASE("SafetensorsFile: malformed: data_offsets ending before they begin", "[data][safetensors][errors]") {
    refused(file_of(one("F32", "[0]", 4, 0), Bytes(4, 0)), "data_offsets [4, 0] end before they begin");
}

TEST_CASE("SafetensorsFile: malformed: byte length other than shape times dtype size", "[data][safetensors][errors]") {
    refused(file_of(one("F32", "[2]", 0, 4), Bytes(4, 0)),
            "F32 of shape [2] is 8 bytes, but data_offsets [0, 4] span 4 bytes");
}

TEST_CASE("SafetensorsFile: malformed: shape too large to address", "[data][safetensors][errors]") {
    refused(file_of(one("F64", "[4294967296,4294967296]", 0, 8), Bytes(8, 0)), "is too large to address");
}

TEST_CASE("SafetensorsFile: malformed: two tensors overlapping", "[data][safetensors][errors]") {
    refused(file_of(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                    R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                    Bytes(12, 0)),
            "tensor 'b' (bytes [4, 12]) overlaps tensor 'a'");
}

TEST_CASE("SafetensorsFile: malformed: a hole between two tensors", "[data][safetensors][errors]") {
    refused(file_of(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                    R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                    Bytes(12, 0)),
            "tensor 'b' begins at byte 8, leaving bytes [4, 8] of the data unused");
}

TEST_CASE("SafetensorsFile: malformed: data not starting at offset 0", "[data][safetensors][errors]") {
    refused(file_of(one("F32", "[1]", 4, 8), Bytes(8, 0)), "leaving bytes [0, 4] of the data unused");
}

TEST_CASE("SafetensorsFile: malformed: bytes after the last tensor", "[data][safetensors][errors]") {
    refused(file_of(one("F32", "[1]", 0, 4), Bytes(5, 0)), "the tensors cover 4 bytes of data, but the file holds 5");
}

TEST_CASE("SafetensorsFile: malformed: data cut short", "[data][safetensors][errors]") {
    refused(file_of(one("F32", "[2]", 0, 8), Bytes(7, 0)), "the tensors cover 8 bytes of data, but the file holds 7");
}

TEST_CASE("SafetensorsFile: malformed: metadata that is not strings", "[data][safetensors][errors]") {
    refused(file_of(R"({"__metadata__":{"epoch":3}})", {}), "__metadata__ 'epoch' is 3, not a string");
    refused(file_of(R"({"__metadata__":[]})", {}), "__metadata__ is not an object of strings");
}

TEST_CASE("SafetensorsFile: a missing file is an IoError naming it", "[data][safetensors][errors]") {
    CHECK_THROWS_MATCHES(data::SafetensorsFile("/nonexistent/x.safetensors"), tg::IoError,
                         Says("/nonexistent/x.safetensors") && Says("cannot open"));
}

TEST_CASE("SafetensorsFile: metadata only, no tensors, with spaces after the JSON", "[data][safetensors]") {
    Written f(file_of(R"({"__metadata__":{"format":"pt"}}      )", {}));
    const data::SafetensorsFile file(f.path);
    CHECK(file.entries().empty());
    CHECK(file.metadata().at("format") == "pt");
}

TEST_CASE("save_safetensors / load_safetensors: a model's state_dict goes out and comes back by name",
          "[data][safetensors][nn]") {
    testing::TempDir dir;
    const std::string path = dir.file("model.safetensors");
    tg::Generator gen(11);
    auto make = [&gen] {
        return std::make_shared<nn::Sequential<float>>(std::initializer_list<nn::Module<float>::ModulePtr>{
            std::make_shared<nn::Dense<float>>(3, 4, gen), std::make_shared<nn::BatchNorm1d<float>>(4),
            std::make_shared<nn::Dense<float>>(4, 2, gen)});
    };
    auto source = make();
    (*source)(tg::Tensor<float>({{1.0f, 2.0f, 3.0f}, {0.5f, -1.0f, 2.0f}}));  // moves the running statistics
    nn::save_safetensors(*source, path, {{"format", "pt"}});
    const data::SafetensorsFile file(path);
    CHECK(file.entry("1.num_batches_tracked").shape.empty());
    CHECK(file.metadata().at("format") == "pt");

    auto target = make();
    const auto result = nn::load_safetensors(*target, path);
    CHECK(result.missing_keys.empty());
    for (const auto& [key, tensor] : source->state_dict())
        CHECK(target->state_dict().at(key).value() == tensor.value());
    source->eval();
    target->eval();
    const tg::Tensor<float> x({{0.1f, 0.2f, 0.3f}});
    CHECK((*target)(x).value() == (*source)(x).value());
}

TEST_CASE("load_safetensors: PyTorch's int64 num_batches_tracked loads, a shape mismatch changes nothing",
          "[data][safetensors][nn]") {
    // BatchNorm1d(2) as PyTorch saves it: running stats F32, num_batches_tracked a 0-d I64.
    const std::string json = R"({"num_batches_tracked":{"dtype":"I64","shape":[],"data_offsets":[0,8]},)"
                             R"("bias":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},)"
                             R"("running_mean":{"dtype":"F32","shape":[2],"data_offsets":[16,24]},)"
                             R"("running_var":{"dtype":"F32","shape":[2],"data_offsets":[24,32]},)"
                             R"("weight":{"dtype":"F32","shape":[2],"data_offsets":[32,40]}})";
    Bytes payload = little_endian<std::int64_t>({5});
    for (float v : {0.5f, -0.5f, 1.0f, 2.0f, 4.0f, 0.25f, 3.0f, 1.5f}) append(payload, &v, 4);
    Written f(file_of(json, payload));
    nn::BatchNorm1d<double> bn(2);
    nn::load_safetensors(bn, f.path);
    const auto dict = bn.state_dict();
    CHECK(dict.at("num_batches_tracked").item() == 5.0);
    CHECK(dict.at("bias").value() == xt::xarray<double>({0.5, -0.5}));
    CHECK(dict.at("running_var").value() == xt::xarray<double>({4.0, 0.25}));
    CHECK(dict.at("weight").value() == xt::xarray<double>({3.0, 1.5}));

    nn::BatchNorm1d<double> three(3);
    const auto before = three.state_dict().at("weight").value();
    CHECK_THROWS_MATCHES(nn::load_safetensors(three, f.path), tg::ValueError,
                         Says("size mismatch for weight: [2] in the dict, [3] in the module"));
    CHECK(three.state_dict().at("weight").value() == before);
}

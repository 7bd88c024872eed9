// The IDX reader: plain and gzipped files, and every malformed file named in its message.
#include <catch2/catch.hpp>

#include <tapegrad/tapegrad.hpp>
#include "autograd/says.hpp"
#include "data/files.hpp"

namespace tg = tapegrad;
using testing::Bytes;
using testing::idx_bytes;

namespace {

/// Writes bytes plainly or gzipped, as the generator picked.
std::string write(const testing::TempDir& dir, const Bytes& bytes, bool gzip) {
    const std::string path = dir.file(gzip ? "file.gz" : "file");
    gzip ? testing::write_gzip(path, bytes) : testing::write_plain(path, bytes);
    return path;
}

}  // namespace

TEST_CASE("read_idx: images and labels, plain and gzipped", "[data][idx]") {
    const bool gzip = GENERATE(false, true);
    testing::TempDir dir;
    const Bytes pixels = testing::counting(3 * 2 * 4, 200);  // wraps past 255: every byte value kind
    const auto images = tg::data::read_idx_images(write(dir, idx_bytes({3, 2, 4}, pixels), gzip));
    CHECK(images.shape == tg::Shape{3, 2, 4});
    CHECK(images.data == pixels);

    const Bytes classes = {9, 0, 3};
    const auto labels = tg::data::read_idx_labels(write(dir, idx_bytes({3}, classes), gzip));
    CHECK(labels.shape == tg::Shape{3});
    CHECK(labels.data == classes);
}

TEST_CASE("read_idx: a file larger than the reader's chunks is read whole", "[data][idx]") {
    testing::TempDir dir;
    const Bytes pixels = testing::counting(70 * 300 * 1000, 7);  // 21 MB: more than one 16 MB chunk
    const auto images = tg::data::read_idx_images(write(dir, idx_bytes({70, 300, 1000}, pixels), true));
    CHECK(images.shape == tg::Shape{70, 300, 1000});
    CHECK(images.data == pixels);
}

TEST_CASE("read_idx: malformed files are refused with the file and the fault named", "[data][idx][errors]") {
    const bool gzip = GENERATE(false, true);
    testing::TempDir dir;
    const Bytes good = idx_bytes({2, 3, 4}, testing::counting(24));
    auto refused = [&](Bytes bytes, const std::string& fault) {
        const std::string path = write(dir, bytes, gzip);
        CHECK_THROWS_MATCHES(tg::data::read_idx_images(path), tg::IoError, Says(path) && Says(fault));
    };
    SECTION("bad magic") {
        Bytes bytes = good;
        bytes[0] = 0x12;
        refused(bytes, "bad magic number 0x12000803");
    }
    SECTION("another type code") {
        refused(idx_bytes({2, 3, 4}, Bytes(96), 0x0D), "type code 0x0d (float)");
    }
    SECTION("wrong number of dimensions") {
        refused(idx_bytes({24}, Bytes(24)), "1 dimensions (magic 0x00000801), expected 3");
    }
    SECTION("a zero size") {
        refused(idx_bytes({2, 0, 4}, {}), "dimension 1 has size 0");
    }
    SECTION("empty file") {
        refused({}, "fewer than the 4-byte magic number");
    }
    SECTION("header cut short") {
        refused(Bytes(good.begin(), good.begin() + 10), "truncated header: 6 of the 12 bytes");
    }
    SECTION("data cut short") {
        refused(Bytes(good.begin(), good.end() - 1), "truncated: shape [2, 3, 4] needs 24 data bytes");
    }
    SECTION("trailing bytes") {
        Bytes bytes = good;
        bytes.insert(bytes.end(), {1, 2, 3});
        refused(bytes, "3 trailing bytes after the 24 data bytes");
    }
    SECTION("absurd sizes") {
        refused(idx_bytes({60000, 60000, 60000}, {}), "the header is corrupt");
    }
}

TEST_CASE("read_idx: labels read as images is a dimension error", "[data][idx][errors]") {
    testing::TempDir dir;
    const std::string path = dir.file("labels");
    testing::write_plain(path, idx_bytes({5}, Bytes(5)));
    CHECK_THROWS_MATCHES(tg::data::read_idx_images(path), tg::IoError, Says("expected 3 (magic 0x00000803)"));
    CHECK(tg::data::read_idx_labels(path).shape == tg::Shape{5});
}

TEST_CASE("read_idx: a missing file and a cut gzip stream", "[data][idx][errors]") {
    testing::TempDir dir;
    const std::string missing = dir.file("nothing-here.gz");
    CHECK_THROWS_MATCHES(tg::data::read_idx_labels(missing), tg::IoError, Says(missing) && Says("cannot open"));

    // A cut .gz loses its trailer (and data): zlib reports the stream cut, we name the file.
    const std::string path = dir.file("cut.gz");
    testing::write_gzip(path, idx_bytes({4, 10, 10}, testing::counting(400)));
    Bytes compressed = testing::read_all(path);
    compressed.resize(compressed.size() - 6);
    testing::write_plain(path, compressed);
    CHECK_THROWS_MATCHES(tg::data::read_idx_images(path), tg::IoError, Says(path) && Says("truncated .gz"));
}

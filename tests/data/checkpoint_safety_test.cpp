// Checkpoints that could never be loaded are refused when saved, and saves leave no debris: not
// when they throw, not when they are killed (the next save removes what they left), and never at
// the cost of a folder another live save is writing.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <tapegrad/nn/checkpoint.hpp>
#include "autograd/says.hpp"
#include "data/checkpoint_fixtures.hpp"
#include "data/files.hpp"

namespace tg = tapegrad;
namespace fs = std::filesystem;
using testing::entries;
using testing::make_model;
using testing::values;

namespace {

/// The pid of a process that has exited and been reaped.
std::string dead_pid() {
    const pid_t child = ::fork();
    if (child == 0) ::_exit(0);
    ::waitpid(child, nullptr, 0);
    return std::to_string(child);
}

/// A folder with a half-written parameter file in it, as a killed save leaves.
void half_written(const fs::path& folder) {
    fs::create_directories(folder / "model");
    std::ofstream(folder / "model" / "0.weight.npy") << "\x93NUMPY half";
}

bool has_entry_starting(const fs::path& folder, const std::string& prefix) {
    for (const auto& name : entries(folder))
        if (name.rfind(prefix, 0) == 0) return true;
    return false;
}

/// A module whose second parameter name cannot be a file name: its save fails half way.
struct BadName : tg::nn::Module<float> {
    BadName() {
        register_parameter("fine", tg::zeros<float>({3}));
        register_parameter("not/fine", tg::zeros<float>({3}));
    }
    tg::Tensor<float> forward(const tg::Tensor<float>& x) override { return x; }
    std::string name() const override { return "BadName"; }
};

}  // namespace

TEST_CASE("checkpoint: an optimiser over tensors that are not the model's is refused, writing nothing",
          "[data][checkpoint][errors]") {
    testing::TempDir dir;
    const std::string ckpt = dir.file("ckpt");
    auto model = make_model(1);
    auto other = make_model(2);

    SECTION("an extra tensor") {
        auto params = model.parameters();
        params.push_back(tg::zeros<float>({5, 5}, /*requires_grad=*/true));
        tg::optim::Adam<float> adam(params);
        CHECK_THROWS_MATCHES(tg::nn::save_checkpoint(ckpt, model, adam), tg::ValueError,
                             Says("save_checkpoint '" + ckpt + "': Adam parameter 4 (shape [5, 5])") &&
                                 Says("is not one of the model's parameters (0.weight [8, 4], 0.bias [8], "
                                      "2.weight [3, 8], 2.bias [3])"));
        CHECK(entries(dir.path()).empty());
    }
    SECTION("another model's parameters, over an existing checkpoint") {
        tg::optim::SGD<float> own(model.parameters(), {.lr = 0.1});
        tg::nn::save_checkpoint(ckpt, model, own);
        const auto manifest = testing::read_all(ckpt + "/manifest.txt");
        tg::optim::SGD<float> sgd(other.parameters(), {.lr = 0.1});
        CHECK_THROWS_MATCHES(tg::nn::save_checkpoint(ckpt, model, sgd), tg::ValueError,
                             Says("SGD parameter 0 (shape [8, 4]) is not one of the model's parameters"));
        CHECK(testing::read_all(ckpt + "/manifest.txt") == manifest);
        CHECK(entries(dir.path()) == std::vector<std::string>{"ckpt"});

        // Loading into such an optimiser is refused too: it would train tensors the model never uses.
        const auto before = values(model);
        CHECK_THROWS_MATCHES(tg::nn::load_checkpoint(ckpt, model, sgd), tg::ValueError,
                             Says("load_checkpoint '" + ckpt + "': SGD parameter 0 (shape [8, 4])"));
        CHECK(values(model) == before);
    }
    SECTION("a subset of the model's parameters is fine (fine-tuning the last layer)") {
        tg::optim::Adam<float> adam({model.parameters()[2], model.parameters()[3]});
        tg::nn::save_checkpoint(ckpt, model, adam);
        tg::nn::load_checkpoint(ckpt, model, adam);
    }
}

TEST_CASE("checkpoint: a save that throws half way leaves no temporary folder", "[data][checkpoint][errors]") {
    testing::TempDir dir;
    CHECK_THROWS_MATCHES(tg::nn::save_checkpoint(dir.file("ckpt"), BadName()), tg::IoError,
                         Says("parameter name 'not/fine' cannot be a file name"));
    CHECK(entries(dir.path()).empty());
}

TEST_CASE("checkpoint: the next save removes stale temporary folders of the same checkpoint, and only those",
          "[data][checkpoint]") {
    testing::TempDir dir;
    const std::string ckpt = dir.file("ckpt");
    const auto model = make_model(1);
    tg::nn::save_checkpoint(ckpt, model);
    const std::string dead = dead_pid();
    const std::string me = std::to_string(::getpid());
    // Stale: saves of processes that are gone, and of an earlier process that had our pid (in a
    // container the trainer can be pid 1 on every start).
    const std::vector<std::string> stale = {".ckpt.tmp-" + dead + "-0", ".ckpt.tmp-" + dead + "-17",
                                            ".ckpt.tmp-" + me + "-4000"};
    // Kept: a live process's save (pid 1 always runs), one a save of ours holds locked, other
    // checkpoints' temporaries, names we never make, and a file.
    const std::vector<std::string> kept = {".ckpt.tmp-1-0",
                                           ".ckpt.tmp-" + me + "-4001",
                                           ".other.tmp-" + dead + "-0",
                                           "ckpt.tmp-" + dead + "-0",
                                           ".ckpt.tmp-" + dead,
                                           ".ckpt.tmp-x-0",
                                           ".ckpt.tmp-" + dead + "-0x"};
    for (const auto& name : stale) half_written(dir.path() / name);
    for (const auto& name : kept) half_written(dir.path() / name);
    std::ofstream(dir.file(".ckpt.tmp-" + dead + "-1")) << "a file we did not make";
    const int held = ::open(dir.file(".ckpt.tmp-" + me + "-4001").c_str(), O_RDONLY | O_DIRECTORY);
    REQUIRE(::flock(held, LOCK_EX) == 0);

    tg::nn::save_checkpoint(ckpt, model);
    ::close(held);
    std::vector<std::string> expected = kept;
    expected.push_back("ckpt");
    expected.push_back(".ckpt.tmp-" + dead + "-1");
    std::sort(expected.begin(), expected.end());
    CHECK(entries(dir.path()) == expected);
}

TEST_CASE("checkpoint: a two-step swap cut between its renames gets the previous checkpoint back",
          "[data][checkpoint]") {
    testing::TempDir dir;
    const auto previous = make_model(1);
    tg::nn::save_checkpoint(dir.file("elsewhere"), previous);
    const std::string moved_aside = ".ckpt.tmp-" + dead_pid() + "-3";
    fs::rename(dir.file("elsewhere"), dir.file(moved_aside + ".old"));
    half_written(dir.path() / moved_aside);

    tg::nn::check_checkpoint_path(dir.file("ckpt"));  // cleans up as a save would, writes nothing else
    CHECK(entries(dir.path()) == std::vector<std::string>{"ckpt"});
    auto loaded = make_model(2);
    tg::nn::load_checkpoint(dir.file("ckpt"), loaded);
    CHECK(values(loaded) == values(previous));
}

TEST_CASE("checkpoint: a save killed by a signal leaves a folder that the next save removes", "[data][checkpoint]") {
    testing::TempDir dir;
    const std::string ckpt = dir.file("ckpt");
    const auto model = make_model(1, {1000, 1000, 10});  // 4 MB a save: long enough to be caught in the middle
    tg::nn::save_checkpoint(ckpt, model);
    bool cut_mid_save = false;
    for (int attempt = 0; attempt < 20 && !cut_mid_save; ++attempt) {
        const pid_t child = ::fork();
        if (child == 0) {
            try {
                for (;;) tg::nn::save_checkpoint(ckpt, model);
            } catch (...) {
                ::_exit(1);
            }
        }
        const std::string prefix = ".ckpt.tmp-" + std::to_string(child) + "-";
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (!has_entry_starting(dir.path(), prefix) && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        ::kill(child, SIGKILL);
        int status = 0;
        REQUIRE(::waitpid(child, &status, 0) == child);
        REQUIRE(WIFSIGNALED(status));
        cut_mid_save = has_entry_starting(dir.path(), prefix);
    }
    REQUIRE(cut_mid_save);

    auto loaded = make_model(2, {1000, 1000, 10});
    tg::nn::load_checkpoint(ckpt, loaded);  // the killed saves never touched the checkpoint itself
    CHECK(values(loaded) == values(model));
    tg::nn::save_checkpoint(ckpt, model);
    CHECK(entries(dir.path()) == std::vector<std::string>{"ckpt"});
}

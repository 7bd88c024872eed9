#include "run_state.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include <tapegrad/autograd/errors.hpp>

namespace fashion {
namespace {

namespace tg = tapegrad;
using Fields = std::map<std::string, std::string>;

/// The settings that decide a run's results, as "key value" fields (fmt's shortest form of a
/// double reads back as the same double). Not --threads: it changes results only in the last
/// bits, and a resumed run may need another machine.
Fields settings(const Options& o) {
    return {{"model", o.model},
            {"epochs", fmt::format("{}", o.epochs)},
            {"batch_size", fmt::format("{}", o.batch_size)},
            {"lr", fmt::format("{}", o.lr)},
            {"weight_decay", fmt::format("{}", o.weight_decay)},
            {"schedule", o.schedule},
            {"seed", fmt::format("{}", o.seed)},
            {"limit", fmt::format("{}", o.limit)},
            {"test_limit", fmt::format("{}", o.test_limit)},
            {"distributed", o.distributed ? "1" : "0"}};
}

std::string to_text(const Fields& fields) {
    std::string out;
    for (const auto& [key, value] : fields) out += key + " " + value + "\n";
    return out;
}

const std::string& extra(const std::string& dir, const tg::nn::CheckpointExtras& extras, const std::string& name) {
    const auto it = extras.find(name);
    if (it == extras.end())
        tg::fail<tg::IoError>("--resume '{}': the checkpoint has no '{}' extra; it was not written by fashion_mnist",
                              dir, name);
    return it->second;
}

Fields parse(const std::string& dir, const std::string& name, const std::string& text, const Fields& expected) {
    Fields fields;
    std::istringstream in(text);
    for (std::string key, value; in >> key >> value;) fields[key] = value;
    for (const auto& [key, unused] : expected)
        if (!fields.count(key)) tg::fail<tg::IoError>("--resume '{}': extra '{}' has no '{}'", dir, name, key);
    return fields;
}

template <class N>
N number(const std::string& dir, const std::string& key, const std::string& text) {
    N value{};
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size())
        tg::fail<tg::IoError>("--resume '{}': {} is '{}', not a number", dir, key, text);
    return value;
}

void apply(const std::string& dir, const std::string& key, const std::string& value, Options& o) {
    if (key == "model" && value != "mlp" && value != "cnn")
        tg::fail<tg::IoError>("--resume '{}': model is '{}', not mlp or cnn", dir, value);
    if (key == "model") o.model = value;
    if (key == "epochs") o.epochs = number<std::size_t>(dir, key, value);
    if (key == "batch_size") o.batch_size = number<std::size_t>(dir, key, value);
    if (key == "lr") o.lr = number<double>(dir, key, value);
    if (key == "weight_decay") o.weight_decay = number<double>(dir, key, value);
    if (key == "schedule" && value != "cosine" && value != "onecycle" && value != "none")
        tg::fail<tg::IoError>("--resume '{}': schedule is '{}', not cosine, onecycle or none", dir, value);
    if (key == "schedule") o.schedule = value;
    if (key == "seed") o.seed = number<std::uint64_t>(dir, key, value);
    if (key == "limit") o.limit = number<std::size_t>(dir, key, value);
    if (key == "test_limit") o.test_limit = number<std::size_t>(dir, key, value);
    if (key == "distributed" && value != "0" && value != "1")
        tg::fail<tg::IoError>("--resume '{}': distributed is '{}', not 0 or 1", dir, value);
    if (key == "distributed") o.distributed = value == "1";
}

}  // namespace

tg::nn::CheckpointExtras to_extras(const Options& options, const Progress& p) {
    const Fields progress = {{"epoch", fmt::format("{}", p.epoch)},
                             {"step", fmt::format("{}", p.step)},
                             {"loss_sum", fmt::format("{}", p.loss_sum)},
                             {"seen", fmt::format("{}", p.seen)}};
    return {{"run", to_text(settings(options))}, {"progress", to_text(progress)}, {"rng", p.rng}, {"curve", p.curve}};
}

void merge_settings(const std::string& dir, const tg::nn::CheckpointExtras& extras, Options& options) {
    const Fields current = settings(options);
    // A checkpoint from before --model, --weight-decay, --distributed and --test-limit holds the MLP
    // without weight decay, trained in one process and evaluated on the whole test set.
    const Fields before = {{"model", "mlp"}, {"weight_decay", "0"}, {"distributed", "0"}, {"test_limit", "0"}};
    Fields required = current;
    for (const auto& [key, unused] : before) required.erase(key);
    Fields saved = parse(dir, "run", extra(dir, extras, "run"), required);
    saved.insert(before.begin(), before.end());  // keeps the saved values where there are some
    for (const auto& [key, value] : current) {
        std::string flag = "--" + key;
        std::replace(flag.begin(), flag.end(), '_', '-');
        if (options.given.count(flag) && value != saved.at(key))
            tg::fail<tg::ValueError>(
                "--resume '{}': {} is {} here but {} in the checkpoint; a resumed run keeps its settings (leave {} "
                "out)",
                dir, flag, value, saved.at(key), flag);
        apply(dir, key, saved.at(key), options);
    }
}

Progress read_progress(const std::string& dir, const tg::nn::CheckpointExtras& extras) {
    const Fields expected = {{"epoch", ""}, {"step", ""}, {"loss_sum", ""}, {"seen", ""}};
    const Fields f = parse(dir, "progress", extra(dir, extras, "progress"), expected);
    return {number<std::size_t>(dir, "epoch", f.at("epoch")),
            number<std::size_t>(dir, "step", f.at("step")),
            number<double>(dir, "loss_sum", f.at("loss_sum")),
            number<std::size_t>(dir, "seen", f.at("seen")),
            extra(dir, extras, "rng"),
            extra(dir, extras, "curve")};
}

}  // namespace fashion

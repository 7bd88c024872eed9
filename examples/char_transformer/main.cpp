// A character-level language model trained on real text: by default a decoder-only transformer
// (causal self-attention, pre-norm blocks, learned positions, weight-tied output) on the Debian
// `fortunes` corpus, following docs/char_model_recipe.md (bench/libtorch_char_model.cpp is the
// same recipe in LibTorch). Reports the validation loss in nats and bits per character at every
// evaluation beside the unigram and bigram baselines, checkpoints after each evaluation (Ctrl-C
// stops with a checkpoint; --resume continues bit for bit), writes the curve as CSV and PNG, and
// ends with a sample of generated text.  char_transformer --help lists the flags.
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <numbers>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <xtensor/xadapt.hpp>

#include <tapegrad/nn/checkpoint.hpp>
#include <tapegrad/tapegrad.hpp>
#include "char_recipe.hpp"
#include "char_transformer/model.hpp"
#include "common/curve.hpp"
#include "common/interrupt.hpp"
#include "common/progress.hpp"

namespace tg = tapegrad;
namespace fs = std::filesystem;
namespace R = char_recipe;

namespace {

constexpr const char* kUsage =
    "usage: char_transformer [--model transformer|lstm] [--data FILE] [--steps N] [--eval-every N]\n"
    "                        [--seed N] [--threads N] [--out DIR] [--resume DIR]\n"
    "                        [--sample N] [--temperature T] [--prompt TEXT]\n"
    "  --model        transformer (default) or lstm\n"
    "  --data         any text file (default: Debian's fortunes, /usr/share/games/fortunes)\n"
    "  --steps        training steps (default {})\n"
    "  --eval-every   steps between validation passes and checkpoints (default {})\n"
    "  --seed         seeds the parameters and the data order (default {})\n"
    "  --threads      worker threads (default: all cores)\n"
    "  --out          folder for curve.csv, curve.png and checkpoint/ (default out/char_transformer)\n"
    "  --resume       continue the run saved in this checkpoint folder\n"
    "  --sample       characters of text generated at the end (default 400)\n"
    "  --temperature  sampling temperature, > 0 (default 0.8)\n"
    "  --prompt       text the sample starts from (default: a new line)\n";

struct Options {
    std::string model = "transformer";
    std::string data;  // empty: the fortunes corpus
    std::int64_t steps = R::kSteps;
    std::int64_t eval_every = R::kEvalEvery;
    std::uint64_t seed = R::kSeed;
    int threads = 0;
    std::string out = "out/char_transformer";
    std::string resume;
    std::int64_t sample = 400;
    double temperature = 0.8;
    std::string prompt = "\n";
};

Options parse_options(int argc, char** argv) {
    Options o;
    const std::string usage = fmt::format(fmt::runtime(kUsage), R::kSteps, R::kEvalEvery, R::kSeed);
    auto value_of = [&](int& i) -> std::string {
        if (i + 1 >= argc) tg::fail<tg::ValueError>("{} needs a value\n{}", argv[i], usage);
        return argv[++i];
    };
    auto number = [&](const std::string& flag, const std::string& text, double low) {
        std::size_t used = 0;
        double v = 0;
        try {
            v = std::stod(text, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used != text.size() || !(v >= low))
            tg::fail<tg::ValueError>("{} '{}': expected a number >= {}", flag, text, low);
        return v;
    };
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        if (flag == "--help" || flag == "-h") {
            fmt::print("{}", usage);
            std::exit(0);
        } else if (flag == "--model") {
            o.model = value_of(i);
        } else if (flag == "--data") {
            o.data = value_of(i);
        } else if (flag == "--steps") {
            o.steps = static_cast<std::int64_t>(number(flag, value_of(i), 1));
        } else if (flag == "--eval-every") {
            o.eval_every = static_cast<std::int64_t>(number(flag, value_of(i), 1));
        } else if (flag == "--seed") {
            o.seed = static_cast<std::uint64_t>(number(flag, value_of(i), 0));
        } else if (flag == "--threads") {
            o.threads = static_cast<int>(number(flag, value_of(i), 1));
        } else if (flag == "--out") {
            o.out = value_of(i);
        } else if (flag == "--resume") {
            o.resume = value_of(i);
        } else if (flag == "--sample") {
            o.sample = static_cast<std::int64_t>(number(flag, value_of(i), 0));
        } else if (flag == "--temperature") {
            o.temperature = number(flag, value_of(i), 0);
            if (o.temperature <= 0) tg::fail<tg::ValueError>("--temperature must be > 0");
        } else if (flag == "--prompt") {
            o.prompt = value_of(i);
        } else {
            tg::fail<tg::ValueError>("unknown flag '{}'\n{}", flag, usage);
        }
    }
    if (o.model != "transformer" && o.model != "lstm")
        tg::fail<tg::ValueError>("--model '{}': choose transformer or lstm", o.model);
    return o;
}

/// The flat targets of a batch, as the labels cross_entropy takes.
tg::Labels flat(const tg::Indices& y) {
    return tg::Labels(std::vector<std::int64_t>(y.begin(), y.end()));
}

/// Mean cross-entropy (nats) of logits [B, T, V] against y [B, T], over all B T targets.
tg::Tensor<float> token_loss(const tg::Tensor<float>& logits, const tg::Indices& y, tg::Reduction reduction) {
    const auto vocab = static_cast<std::int64_t>(logits.shape().back());
    return tg::cross_entropy(tg::reshape(logits, {std::int64_t(-1), vocab}), flat(y), reduction);
}

/// The mean loss per validation target, in nats, without recording anything.
double validation_loss(char_model::CharModel& model, const std::vector<tg::data::TextBatch>& batches) {
    tg::NoGradGuard no_grad;
    model.eval();
    double sum = 0;
    std::size_t targets = 0;
    for (const auto& b : batches) {
        sum += token_loss(model.logits(b.x), b.y, tg::Reduction::Sum).item();
        targets += b.y.numel();
    }
    model.train();
    return sum / static_cast<double>(targets);
}

/// `count` characters after `prompt`, each drawn from softmax(logits / temperature) of the last
/// kBlock characters.
std::string generate(char_model::CharModel& model, const tg::data::CharCorpus& corpus, const std::string& prompt,
                     std::int64_t count, double temperature, tg::Generator& gen) {
    tg::NoGradGuard no_grad;
    model.eval();
    const tg::Indices start = corpus.encode(prompt);
    std::vector<std::int64_t> ids(start.begin(), start.end());
    std::string text;
    for (std::int64_t n = 0; n < count; ++n) {
        const auto from = ids.size() > std::size_t(R::kBlock) ? ids.end() - R::kBlock : ids.begin();
        const std::vector<std::int64_t> window(from, ids.end());
        const xt::xarray<std::int64_t> row = xt::adapt(window, std::vector<std::size_t>{1, window.size()});
        const auto logits = model.logits(tg::Indices(row)).value();
        const std::size_t vocab = logits.shape().back();
        const float* last = logits.data() + (window.size() - 1) * vocab;
        // Max-subtracted, in double: exp of the largest is 1, so nothing overflows.
        const double top = *std::max_element(last, last + vocab) / temperature;
        std::vector<double> p(vocab);
        double total = 0;
        for (std::size_t v = 0; v < vocab; ++v) total += p[v] = std::exp(last[v] / temperature - top);
        double u = gen.uniform() * total;
        std::size_t pick = 0;
        while (pick + 1 < vocab && (u -= p[pick]) >= 0) ++pick;
        ids.push_back(static_cast<std::int64_t>(pick));
        text += corpus.vocabulary()[pick];  // token id i is the byte vocabulary()[i]
    }
    return text;
}

/// What a checkpoint holds besides the weights and the optimiser: the settings that decide the
/// run, how far it got, the data order's state and the curve so far.
struct Progress {
    std::int64_t step = 0;  // steps taken
    std::string rng;        // the data order's Generator::state() after `step` steps
    std::string curve;      // curve.csv so far
    double loss_sum = 0;    // the training losses of this evaluation interval so far (a stop mid-interval)
};

std::string run_key(const Options& o) {
    return fmt::format("model={} data={} steps={} eval_every={} seed={}", o.model, o.data, o.steps, o.eval_every,
                       o.seed);
}

void save(const fs::path& dir, char_model::CharModel& model, const tg::optim::AdamW<float>& adamw, const Options& o,
          const Progress& p) {
    tg::nn::save_checkpoint(dir.string(), model, adamw,
                            {{"run", run_key(o)},
                             {"step", std::to_string(p.step)},
                             {"rng", p.rng},
                             {"curve", p.curve},
                             {"loss_sum", fmt::format("{:a}", p.loss_sum)}});  // hexadecimal: read back exactly
}

/// The command that continues this run: the flags of run_key (which --resume checks), then the
/// checkpoint, the output folder and the threads.
std::string resume_command(const std::string& program, const Options& o, const std::string& ckpt) {
    std::string command = fmt::format("{} --model {}", program, o.model);
    if (!o.data.empty()) command += fmt::format(" --data {}", o.data);
    command += fmt::format(" --steps {} --eval-every {} --seed {} --resume {} --out {}", o.steps, o.eval_every, o.seed,
                           ckpt, o.out);
    if (o.threads > 0) command += fmt::format(" --threads {}", o.threads);
    return command;
}

/// AdamW with decay on parameters of 2+ dims (weights, embeddings) only, as the recipe says.
tg::optim::AdamW<float> make_optimizer(const char_model::CharModel& model) {
    std::vector<tg::Tensor<float>> decay, no_decay;
    for (const auto& p : model.parameters()) (p.ndim() >= 2 ? decay : no_decay).push_back(p);
    const tg::optim::AdamWOptions defaults{.lr = R::kLr, .beta1 = R::kBeta1, .beta2 = R::kBeta2, .eps = R::kAdamEps};
    return tg::optim::AdamW<float>(
        {{.params = decay, .weight_decay = R::kWeightDecay}, {.params = no_decay, .weight_decay = 0.0}}, defaults);
}

int run(const Options& o, const std::string& program) {
    examples::install_interrupt_handlers();
    if (o.threads > 0) tg::set_num_threads(static_cast<std::size_t>(o.threads));
    const fs::path out(o.out), ckpt = out / "checkpoint";
    fs::create_directories(out);
    const auto corpus = o.data.empty() ? tg::data::load_fortunes(tg::data::kFortunesDir, R::kValidationFraction)
                                       : tg::data::CharCorpus::from_file(o.data, R::kValidationFraction);
    const auto unigram = tg::data::unigram_cross_entropy(corpus);
    const auto bigram = tg::data::bigram_cross_entropy(corpus);
    fmt::print("corpus {}: {} bytes (train {}, validation {}), vocabulary {}\n", corpus.name(), corpus.size(),
               corpus.train_size(), corpus.validation_size(), corpus.vocab_size());
    fmt::print(
        "baselines on the validation split: unigram {:.4f} nats ({:.4f} bits/char), bigram {:.4f} nats "
        "({:.4f} bits/char)\n",
        unigram.nats, unigram.bits, bigram.nats, bigram.bits);

    tg::Generator init(o.seed);
    auto model = char_model::make_model(o.model, corpus.vocab_size(), init);
    auto adamw = make_optimizer(*model);
    tg::Generator order(o.seed);  // the windows, in the same order as bench/libtorch_char_model
    Progress p{.rng = order.state()};
    if (!o.resume.empty()) {
        const auto extras = tg::nn::load_checkpoint(o.resume, *model, adamw);
        if (extras.count("run") == 0 || extras.at("run") != run_key(o))
            tg::fail<tg::IoError>("--resume '{}': the checkpoint is of another run ({}), not {}", o.resume,
                                  extras.count("run") ? extras.at("run") : "unknown", run_key(o));
        p = {std::stoll(extras.at("step")), extras.at("rng"), extras.at("curve"),
             extras.count("loss_sum") ? std::strtod(extras.at("loss_sum").c_str(), nullptr) : 0.0};
        order.set_state(p.rng);
        fmt::print("resuming from {} after step {}\n", o.resume, p.step);
    }
    fmt::print(
        "model: {} parameters\n{}\nAdamW lr {} (warm-up {} steps, cosine to {}), batch {} x block {}, {} steps, "
        "seed {}\n",
        model->num_parameters(), model->to_string(), R::kLr, R::kWarmupSteps, R::kMinLr, R::kBatch, R::kBlock, o.steps,
        o.seed);

    const auto validation = corpus.validation_batches(R::kEvalRows, R::kBlock);
    const auto params = model->parameters();
    examples::CurveWriter curve(out / "curve.csv", "step,train_loss,val_loss,val_bits_per_char,ms_per_step", p.curve);
    // A resumed run that had already finished trains no step: its loss is measured here.
    double val = p.step >= o.steps ? validation_loss(*model, validation) : 0.0;
    while (p.step < o.steps) {
        // The interval's first step (a resumed run may start inside it) and its end.
        const std::int64_t first = p.step, start = first / o.eval_every * o.eval_every;
        const std::int64_t last = std::min(o.steps, start + o.eval_every);
        examples::ProgressBar bar(fmt::format("steps {}-{}/{}", first + 1, last, o.steps),
                                  static_cast<std::size_t>(last - first));
        double loss_sum = p.loss_sum;
        for (; p.step < last; ++p.step) {
            if (const int signal = examples::interrupt_signal()) {
                p.curve = curve.text();
                p.rng = order.state();
                p.loss_sum = loss_sum;
                save(ckpt, *model, adamw, o, p);
                bar.finish(fmt::format("{} received: stopped after step {}; checkpoint written to {}\nresume with: {}",
                                       examples::signal_name(signal), p.step, ckpt.string(),
                                       resume_command(program, o, ckpt.string())));
                return 128 + signal;
            }
            adamw.set_lr(R::learning_rate(p.step, o.steps));
            const auto batch = corpus.batch(order, R::kBatch, R::kBlock);
            adamw.zero_grad();
            const auto loss = token_loss(model->logits(batch.x), batch.y, tg::Reduction::Mean);
            loss.backward();
            tg::nn::clip_grad_norm_(params, R::kClipNorm);
            adamw.step();
            loss_sum += loss.item();
            bar.update(static_cast<std::size_t>(p.step + 1 - first), loss_sum / double(p.step + 1 - start),
                       static_cast<std::size_t>((p.step + 1 - first) * R::kBatch));
        }
        const double ms_per_step = 1000 * bar.seconds() / double(last - first);
        val = validation_loss(*model, validation);
        const double train_loss = loss_sum / double(last - start);
        p.loss_sum = 0;
        curve.add(fmt::format("{},{:.6f},{:.6f},{:.6f},{:.2f}", p.step, train_loss, val, val / std::numbers::ln2,
                              ms_per_step));
        p.rng = order.state();
        p.curve = curve.text();
        save(ckpt, *model, adamw, o, p);
        bar.finish(fmt::format("step {}/{}: train loss {:.4f}  val loss {:.4f} nats ({:.4f} bits/char)  {:.1f} ms/step",
                               p.step, o.steps, train_loss, val, val / std::numbers::ln2, ms_per_step));
    }
    const bool plotted =
        examples::plot_curve(out / "curve.csv", out / "curve.png",
                             "set xlabel 'step'\nset ylabel 'loss (nats per character)'\n"
                             "plot {csv} using 1:2 with linespoints title 'train loss', '' using 1:3 with "
                             "linespoints title 'validation loss'\n");
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    fmt::print(
        "final validation loss {:.4f} nats ({:.4f} bits/char) after {} steps; unigram {:.4f}, bigram {:.4f}; "
        "peak RSS {} kB\nwrote {}, {}{}\n",
        val, val / std::numbers::ln2, o.steps, unigram.nats, bigram.nats, usage.ru_maxrss, (out / "curve.csv").string(),
        ckpt.string(), plotted ? ", " + (out / "curve.png").string() : "");
    if (o.sample > 0) {
        tg::Generator sampler(o.seed);
        fmt::print("sample (temperature {}, seed {}):\n{}{}\n", o.temperature, o.seed, o.prompt,
                   generate(*model, corpus, o.prompt, o.sample, o.temperature, sampler));
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(parse_options(argc, argv), argv[0]);
    } catch (const std::exception& e) {
        std::cerr << "char_transformer: " << e.what() << "\n";
        return 1;
    }
}

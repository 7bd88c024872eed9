#include <tapegrad/nn/optimizer.hpp>

#include <cctype>
#include <cmath>
#include <unordered_map>

#include <tapegrad/autograd/grad_mode.hpp>
#include <tapegrad/nn/adagrad.hpp>
#include <tapegrad/nn/adam.hpp>
#include <tapegrad/nn/rmsprop.hpp>
#include <tapegrad/nn/sgd.hpp>

namespace tapegrad::optim {

void check_option(bool ok, const std::string& optimizer, const char* option, double value, const char* rule) {
    if (!ok) fail<ValueError>("{}: {} is {}; it must be {}", optimizer, option, value, rule);
}

namespace {

void check_lrs(const std::string& who, const char* what, const std::vector<double>& lrs, std::size_t groups) {
    if (lrs.size() != groups)
        fail<ValueError>("{}: {} lists {} values for {} parameter groups", who, what, lrs.size(), groups);
    for (double lr : lrs) check_option(lr >= 0 && std::isfinite(lr), who, "lr", lr, ">= 0 and finite");
}

/// Splits "exp_avg.3" into ("exp_avg", 3); nullopt when the text after the last '.' is not a number.
std::optional<std::pair<std::string, std::size_t>> split_index(const std::string& entry) {
    const auto dot = entry.rfind('.');
    const std::string digits = dot == std::string::npos ? "" : entry.substr(dot + 1);
    bool numeric = !digits.empty() && digits.size() < 10;
    for (char c : digits) numeric = numeric && std::isdigit(static_cast<unsigned char>(c));
    if (!numeric) return std::nullopt;
    return std::pair{entry.substr(0, dot), static_cast<std::size_t>(std::stoul(digits))};
}

}  // namespace

// ---- OptimizerBase -----------------------------------------------------------------------------

void OptimizerBase::check_group(const char* method, std::size_t group) const {
    if (group >= num_groups())
        fail<ValueError>("{}::{}: group {} is out of range; there are {} parameter groups", name(), method, group,
                         num_groups());
}

double OptimizerBase::lr(std::size_t group) const {
    check_group("lr", group);
    return lrs_[group];
}

void OptimizerBase::set_lr(double lr) {
    set_lrs(std::vector<double>(num_groups(), lr));
}

void OptimizerBase::set_lr(std::size_t group, double lr) {
    check_group("set_lr", group);
    check_option(lr >= 0 && std::isfinite(lr), name(), "lr", lr, ">= 0 and finite");
    lrs_[group] = lr;
}

void OptimizerBase::set_lrs(const std::vector<double>& lrs) {
    check_lrs(name(), "set_lrs", lrs, num_groups());
    lrs_ = lrs;
}

void OptimizerBase::set_initial_lrs(const std::vector<double>& lrs) {
    check_lrs(name(), "set_initial_lrs", lrs, num_groups());
    initial_lrs_ = lrs;
}

double OptimizerBase::momentum(std::size_t) const {
    fail<ValueError>("{}: has no momentum or beta1", name());
}

void OptimizerBase::set_momenta(const std::vector<double>&) {
    fail<ValueError>("{}: has no momentum or beta1", name());
}

void OptimizerBase::check_momentum(std::size_t, double) const {
    fail<ValueError>("{}: has no momentum or beta1", name());
}

// ---- Optimizer<T> ------------------------------------------------------------------------------

template <class T>
Optimizer<T>::Optimizer(const std::vector<std::vector<Tensor<T>>>& groups, std::vector<double> lrs, const char* name,
                        std::vector<std::string> buffers, bool counts_steps)
    : OptimizerBase(std::move(lrs)), buffer_names_(std::move(buffers)), counts_steps_(counts_steps) {
    for (std::size_t g = 0; g < groups.size(); ++g) {
        params_.insert(params_.end(), groups[g].begin(), groups[g].end());
        group_.insert(group_.end(), groups[g].size(), g);
    }
    if (params_.empty()) fail<ValueError>("{}: the parameter list is empty", name);
    for (std::size_t g = 0; g < groups.size(); ++g)
        if (groups[g].empty()) fail<ValueError>("{}: parameter group {} is empty", name, g);
    for (std::size_t i = 0; i < params_.size(); ++i) {
        const auto& p = params_[i];
        if (!p.defined()) fail<ValueError>("{}: parameter {} is an undefined tensor", name, i);
        if (!p.is_leaf())
            fail<ValueError>("{}: parameter {} was made by '{}'; only leaves can be optimised", name, i,
                             p.grad_fn_name());
        if (!p.requires_grad())
            fail<ValueError>("{}: parameter {} (shape {}) does not require grad", name, i, shape_str(p.shape()));
    }
    // The same tensor twice would be stepped twice per step(), each time with its own state.
    std::unordered_map<const void*, std::size_t> first;
    for (std::size_t i = 0; i < params_.size(); ++i) {
        const auto [at, fresh] = first.emplace(params_[i].id(), i);
        if (fresh) continue;
        const std::size_t j = at->second;
        if (group_[i] == group_[j])
            fail<ValueError>("{}: parameters {} and {} are the same tensor (shape {}); pass each parameter once", name,
                             j, i, shape_str(params_[i].shape()));
        fail<ValueError>(
            "{}: parameters {} and {} are the same tensor (shape {}), in groups {} and {}; some parameters appear in "
            "more than one parameter group",
            name, j, i, shape_str(params_[i].shape()), group_[j], group_[i]);
    }
    shapes_.reserve(params_.size());
    for (const auto& p : params_) shapes_.push_back(p.shape());
    slots_.resize(params_.size());
}

template <class T>
void Optimizer<T>::check_shapes(const char* method, bool gradients) const {
    for (std::size_t i = 0; i < params_.size(); ++i) {
        const Shape& now = params_[i].shape();
        if (now != shapes_[i])
            fail<ValueError>(
                "{}::{}: parameter {} had shape {} when the optimizer was built and now has shape {}; its state "
                "was made for the old shape (build a new optimizer)",
                name(), method, i, shape_str(shapes_[i]), shape_str(now));
        const Tensor<T>& g = params_[i].grad();
        if (gradients && g.defined() && g.shape() != now)
            fail<ShapeError>("{}::{}: parameter {} has shape {} but its gradient has shape {}", name(), method, i,
                             shape_str(now), shape_str(g.shape()));
    }
}

template <class T>
std::size_t Optimizer<T>::group_of(std::size_t i) const {
    if (i >= params_.size())
        fail<ValueError>("{}::group_of: parameter {} is out of range; there are {} parameters", name(), i,
                         params_.size());
    return group_[i];
}

template <class T>
void Optimizer<T>::zero_grad() {
    for (auto& p : params_) p.zero_grad();
}

template <class T>
void Optimizer<T>::step() {
    NoGradGuard no_grad;
    check_shapes("step", /*gradients=*/true);  // every parameter before any is changed
    for (std::size_t i = 0; i < params_.size(); ++i) {
        if (params_[i].grad().defined()) update(i);
    }
}

template <class T>
typename Optimizer<T>::Slot& Optimizer<T>::slot(std::size_t i) {
    if (!slots_[i]) slots_[i] = Slot{0, std::vector<std::optional<xt::xarray<T>>>(buffer_names_.size())};
    return *slots_[i];
}

template <class T>
xt::xarray<T>& Optimizer<T>::buffer(Slot& slot, std::size_t k, std::size_t i, T fill) {
    auto& b = slot.buffers[k];
    if (!b) {
        b.emplace(xt::xarray<T>::from_shape(shapes_[i]));
        b->fill(fill);
    }
    return *b;
}

template <class T>
typename Optimizer<T>::State Optimizer<T>::state() const {
    State out;
    for (std::size_t g = 0; g < num_groups(); ++g)
        out.emplace_back("lr." + std::to_string(g), Tensor<T>(static_cast<T>(lr(g))));
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        if (!slots_[i]) continue;
        const auto index = "." + std::to_string(i);
        if (counts_steps_) out.emplace_back("step" + index, Tensor<T>(static_cast<T>(slots_[i]->step)));
        for (std::size_t k = 0; k < buffer_names_.size(); ++k)
            if (slots_[i]->buffers[k]) out.emplace_back(buffer_names_[k] + index, Tensor<T>(*slots_[i]->buffers[k]));
    }
    return out;
}

template <class T>
std::vector<std::optional<typename Optimizer<T>::Slot>> Optimizer<T>::parse_state(
    const State& state, std::vector<std::optional<double>>& lrs) const {
    std::vector<std::optional<Slot>> slots(params_.size());
    for (const auto& [entry, tensor] : state) {
        const auto split = split_index(entry);
        const bool old_lr = entry == "lr" && num_groups() == 1;  // saved before parameter groups existed
        if (old_lr || (split && split->first == "lr")) {
            const std::size_t g = old_lr ? 0 : split->second;
            if (g >= num_groups())
                fail<ValueError>("{}::load_state: entry '{}' refers to group {}, but there are {} parameter groups",
                                 name(), entry, g, num_groups());
            if (!tensor.defined() || tensor.numel() != 1)
                fail<ValueError>("{}::load_state: entry '{}' must hold one number", name(), entry);
            lrs[g] = static_cast<double>(tensor.item());
            check_option(*lrs[g] >= 0 && std::isfinite(*lrs[g]), name(), entry.c_str(), *lrs[g], ">= 0 and finite");
            continue;
        }
        if (!split)
            fail<ValueError>("{}::load_state: entry '{}' is not of the form <name>.<parameter index>", name(), entry);
        const auto& [kind, i] = *split;
        if (i >= params_.size())
            fail<ValueError>("{}::load_state: entry '{}' refers to parameter {}, but there are {} parameters", name(),
                             entry, i, params_.size());
        if (!slots[i]) slots[i] = Slot{-1, std::vector<std::optional<xt::xarray<T>>>(buffer_names_.size())};
        if (counts_steps_ && kind == "step") {
            const bool ok = tensor.defined() && tensor.numel() == 1 && tensor.item() >= 0 &&
                            std::floor(tensor.item()) == tensor.item();
            if (!ok)
                fail<ValueError>("{}::load_state: entry '{}' must be one non-negative whole number", name(), entry);
            slots[i]->step = static_cast<std::int64_t>(tensor.item());
            continue;
        }
        const auto k = std::find(buffer_names_.begin(), buffer_names_.end(), kind) - buffer_names_.begin();
        if (k == static_cast<std::ptrdiff_t>(buffer_names_.size()))
            fail<ValueError>("{}::load_state: unknown entry '{}'", name(), entry);
        if (!tensor.defined() || tensor.shape() != shapes_[i])
            fail<ValueError>("{}::load_state: entry '{}' has shape {}, but parameter {} has shape {}", name(), entry,
                             tensor.defined() ? shape_str(tensor.shape()) : "undefined", i, shape_str(shapes_[i]));
        slots[i]->buffers[k] = tensor.value();
    }
    return slots;
}

template <class T>
void Optimizer<T>::check_complete(std::size_t i, const Slot& slot) const {
    const std::size_t g = group_[i];
    std::vector<std::string> required;
    bool missing = counts_steps_ && slot.step < 0;
    if (counts_steps_) required.push_back("step." + std::to_string(i));
    for (std::size_t k = 0; k < buffer_names_.size(); ++k) {
        const Need n = need(k, g);
        const std::string entry = buffer_names_[k] + "." + std::to_string(i);
        if (n == Need::Refused && slot.buffers[k])
            fail<ValueError>(
                "{}::load_state: entry '{}' does not fit parameter {}: the options of its group {} make no {}", name(),
                entry, i, g, buffer_names_[k]);
        if (n == Need::Required) {
            required.push_back(entry);
            missing = missing || !slot.buffers[k];
        }
    }
    if (missing)
        fail<ValueError>("{}::load_state: parameter {} needs {} together", name(), i, fmt::join(required, ", "));
}

template <class T>
void Optimizer<T>::load_state(const State& state) {
    check_shapes("load_state", /*gradients=*/false);
    std::vector<std::optional<double>> lrs(num_groups());
    std::vector<std::optional<Slot>> slots = parse_state(state, lrs);
    for (std::size_t i = 0; i < slots.size(); ++i) {
        if (!slots[i]) continue;
        check_complete(i, *slots[i]);
        slots[i]->step = std::max<std::int64_t>(slots[i]->step, 0);  // -1 marked a missing step (SGD keeps none)
    }
    std::size_t given = 0;
    for (const auto& lr : lrs) given += lr.has_value();
    if (given != 0 && given != lrs.size())
        fail<ValueError>("{}::load_state: the state has lrs for {} of the {} parameter groups", name(), given,
                         lrs.size());
    // Nothing below throws: every entry was checked.
    slots_ = std::move(slots);
    if (given != 0) {
        std::vector<double> values;
        for (const auto& lr : lrs) values.push_back(*lr);
        set_lrs(values);
    }
}

template class Optimizer<float>;
template class Optimizer<double>;

// ---- GroupedOptimizer<T, Options> --------------------------------------------------------------

template <class T, class Options>
GroupedOptimizer<T, Options>::GroupedOptimizer(Resolved resolved, const Options& defaults, const Spec& spec)
    : Optimizer<T>(resolved.params, std::move(resolved.lrs), spec.name, spec.buffers, spec.counts_steps),
      group_options_(std::move(resolved.options)),
      defaults_(defaults),
      validate_(spec.validate),
      momentum_(spec.momentum),
      momentum_name_(spec.momentum_name) {}

template <class T, class Options>
void GroupedOptimizer<T, Options>::check_options(const Options& o, const Spec& spec, const std::string& who,
                                                 bool lr_required) {
    if (spec.lr_required && std::isnan(o.lr)) {
        if (lr_required) fail<ValueError>("{}: lr is required (neither the options nor the group set it)", who);
    } else {
        check_option(o.lr >= 0 && std::isfinite(o.lr), who, "lr", o.lr, ">= 0 and finite");
    }
    spec.validate(o, who);
}

template <class T, class Options>
std::string GroupedOptimizer<T, Options>::who(std::size_t group) const {
    return this->num_groups() == 1 ? this->name() : fmt::format("{} (group {})", this->name(), group);
}

template <class T, class Options>
Options GroupedOptimizer<T, Options>::options(std::size_t group) const {
    this->check_group("options", group);
    Options o = group_options_[group];
    o.lr = this->lr(group);
    return o;
}

template <class T, class Options>
std::vector<ParamGroup<T, Options>> GroupedOptimizer<T, Options>::param_groups() const {
    std::vector<ParamGroup<T, Options>> out(this->num_groups());
    for (std::size_t i = 0; i < this->params_.size(); ++i) out[this->group_[i]].params.push_back(this->params_[i]);
    for (std::size_t g = 0; g < out.size(); ++g) out[g].options = options(g);
    return out;
}

template <class T, class Options>
double GroupedOptimizer<T, Options>::momentum(std::size_t group) const {
    if (!momentum_) OptimizerBase::momentum(group);
    this->check_group("momentum", group);
    return group_options_[group].*momentum_;
}

template <class T, class Options>
void GroupedOptimizer<T, Options>::check_momentum(std::size_t group, double value) const {
    if (!momentum_) OptimizerBase::check_momentum(group, value);
    this->check_group("check_momentum", group);
    Options o = group_options_[group];
    o.*momentum_ = value;
    validate_(o, who(group));
}

template <class T, class Options>
void GroupedOptimizer<T, Options>::set_momenta(const std::vector<double>& values) {
    if (!momentum_) OptimizerBase::set_momenta(values);
    if (values.size() != this->num_groups())
        fail<ValueError>("{}::set_momenta: {} values for {} parameter groups", this->name(), values.size(),
                         this->num_groups());
    for (std::size_t g = 0; g < values.size(); ++g) check_momentum(g, values[g]);
    for (std::size_t g = 0; g < values.size(); ++g) group_options_[g].*momentum_ = values[g];
}

#define TAPEGRAD_INSTANTIATE(T)                         \
    template class GroupedOptimizer<T, SGDOptions>;     \
    template class GroupedOptimizer<T, AdamOptions>;    \
    template class GroupedOptimizer<T, RMSpropOptions>; \
    template class GroupedOptimizer<T, AdagradOptions>;
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad::optim

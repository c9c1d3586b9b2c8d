#include "design_model.hpp"

#include <QFile>
#include <QStringList>
#include <algorithm>

#include "kvscope/core/design_fields.hpp"
#include "kvscope/core/display.hpp"
#include "kvscope/core/error.hpp"
#include "kvscope/core/loaders.hpp"
#include "kvscope/models/profile.hpp"

namespace kvscope::gui {

namespace {
constexpr const char* kSource = "kvscope-gui";

// Text after the "where: " prefix the libraries put in front of messages.
QString display_message(const std::string& what, const std::string& where) {
  std::string m = what;
  if (!where.empty() && m.rfind(where + ": ", 0) == 0) m = m.substr(where.size() + 2);
  if (m.rfind(std::string(kSource) + ": ", 0) == 0) m = m.substr(std::char_traits<char>::length(kSource) + 2);
  return QString::fromStdString(m);
}

// The fields that belong to a model preset (cleared when another preset is chosen): its shape
// and sharing; K/V storage keeps its dtype but not the preset's window layout.
const std::vector<std::string>& shape_fields() {
  static const std::vector<std::string> f = [] {
    std::vector<std::string> v;
    for (const DesignField& d : design_fields()) {
      if (d.is_arch() && d.name != "cla_factor" && d.name != "kv_dtype") v.emplace_back(d.name);
    }
    return v;
  }();
  return f;
}
}  // namespace

models::PointResult DesignPoint::point() const {
  models::PointResult p;
  p.arch = &facts;
  p.workload = design.workload;
  p.eval = eval;
  return p;
}

QString DesignPoint::label() const {
  return QString::fromStdString(display_text(design.arch.id, 60) + " " + variant_name(design.arch) + " " +
                                to_string(design.arch.kv_dtype) + " | " + display_text(design.gpu.id, 60) + " " +
                                design.workload.stack + " | tp=" + std::to_string(design.workload.tp) +
                                " B=" + std::to_string(design.workload.batch) + " S=" + std::to_string(design.workload.context));
}

std::shared_ptr<const DesignPoint> evaluate_scenario(const Scenario& s) {
  auto d = std::make_shared<DesignPoint>();
  d->scenario = s;
  d->design = resolve_single(s);
  d->profile = models::make_profile(d->design.arch, d->design.workload.tp);
  d->params = stack_timing(d->design.gpu, d->design.workload.stack).params;
  d->facts = models::make_arch_facts(d->design.arch);
  // Evaluated on every keystroke in the GUI thread: without the goodput search (a scenario file may
  // carry serving targets); the Serving view and the sweep simulate on their own threads.
  Workload w = d->design.workload;
  w.serving.ttft_slo_s = w.serving.tpot_slo_s = 0;
  d->eval = models::evaluate(d->profile, d->design.gpu, d->params, w);
  d->layers = models::layer_breakdown(d->design.arch, d->profile, d->design.workload);
  return d;
}

std::string field_of_error(const InputError& e, const Scenario& s) {
  // The libraries tag errors with the design field they are about (InputError::field()); an
  // untagged error whose key is a field's spelling ("tp" from the profile builder) is about it.
  const DesignField* f = !e.field().empty() ? find_design_field(e.field()) : find_design_field(e.key());
  return f ? s.spelling(std::string(f->name)) : std::string();
}

DesignModel::DesignModel(QObject* parent) : QObject(parent) {
  scenario_.source = kSource;
  reevaluate();
}

QString DesignModel::value(const QString& name) const {
  const std::string* v = scenario_.get(name.toStdString());
  return v ? QString::fromStdString(*v) : QString();
}

void DesignModel::setValue(const QString& name, const QString& text) {
  setValues({{name.toStdString(), text.toStdString()}});
}

void DesignModel::setValues(const std::map<std::string, std::string>& values) {
  bool changed = false;
  for (const auto& [name, raw] : values) {
    QString t = QString::fromStdString(raw).trimmed();
    const std::string text = t.toStdString();
    // A field is stored once, under the spelling it was given (aliases of design fields alike).
    auto it = scenario_.values.find(scenario_.spelling(name));
    if (text.empty()) {
      if (it != scenario_.values.end()) {
        scenario_.values.erase(it);
        changed = true;
      }
    } else if (it == scenario_.values.end() || it->second != text) {
      scenario_.set(name, text);
      changed = true;
    }
  }
  if (!changed) return;
  emit scenarioChanged();
  reevaluate();
}

void DesignModel::selectModel(const QString& preset) {
  std::map<std::string, std::string> v;
  for (const auto& f : shape_fields()) v[f] = "";
  v["model"] = preset.toStdString();
  setValues(v);
}

void DesignModel::setObjectives(const QString& objectives) {
  if (scenario_.objectives == objectives.toStdString()) return;
  scenario_.objectives = objectives.toStdString();
  emit scenarioChanged();
}

void DesignModel::setScenario(const Scenario& s) {
  scenario_ = s;
  scenario_.source = kSource;
  emit scenarioChanged();
  reevaluate();
}

void DesignModel::load(const QString& path) {
  Scenario s = load_scenario(path.toStdString());  // throws with the file named
  setScenario(s);
}

void DesignModel::save(const QString& path) const {
  const std::string json = scenario_to_json(scenario_);
  QFile f(path);
  if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate)) throw IoError("cannot write " + path.toStdString());
  f.write(json.data(), static_cast<qint64>(json.size()));
}

QString DesignModel::errorText() const {
  QStringList lines;
  for (const auto& [field, msg] : errors_) lines << (field.empty() ? msg : QString::fromStdString(field) + ": " + msg);
  return lines.join('\n');
}

void DesignModel::reevaluate() {
  errors_.clear();
  // 1. Each field on its own: parse errors belong to that field.
  for (const auto& [name, text] : scenario_.values) {
    try {
      if (name == "model") {
        load_architecture(text);
      } else if (name == "gpu") {
        load_gpu(text);
      } else if (is_arch_field(name)) {
        ArchOverrides o;
        set_override(o, name, text);
      } else if (is_workload_field(name)) {
        Workload w;
        set_workload(w, name, text);
      } else if (is_engine_field(name)) {
        EngineMemory e;
        set_engine_field(e, name, text);
      }
    } catch (const InputError& e) {
      errors_[name] = display_message(e.what(), e.where());
    } catch (const Error& e) {
      errors_[name] = display_message(e.what(), {});
    }
  }
  try {
    const std::string* model = scenario_.get("model");
    base_ = std::make_shared<const Architecture>(load_architecture(model ? *model : "llama-3-8b"));
  } catch (const Error&) {
    base_.reset();
  }
  // 2. The whole configuration: consistency errors (heads that don't divide, tp, producers).
  if (errors_.empty()) {
    try {
      current_ = evaluate_scenario(scenario_);
    } catch (const InputError& e) {
      errors_[field_of_error(e, scenario_)] = display_message(e.what(), e.where());
    } catch (const Error& e) {
      errors_[""] = display_message(e.what(), {});
    } catch (const std::exception& e) {
      errors_[""] = QString::fromStdString(e.what());
    }
  }
  emit evaluated();
}

void DesignModel::pinCurrent() {
  if (!current_ || !valid()) return;
  for (const auto& p : pins_) {
    if (p.point->scenario.values == current_->scenario.values) return;
  }
  pins_.push_back({current_->label(), current_});
  emit pinsChanged();
}

void DesignModel::unpin(int index) {
  if (index < 0 || index >= static_cast<int>(pins_.size())) return;
  pins_.erase(pins_.begin() + index);
  emit pinsChanged();
}

void DesignModel::clearPins() {
  if (pins_.empty()) return;
  pins_.clear();
  emit pinsChanged();
}

}  // namespace kvscope::gui

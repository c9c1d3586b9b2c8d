#include "sweep_model.hpp"

#include <QThread>
#include <algorithm>
#include <numeric>

#include "kvscope/core/error.hpp"
#include "kvscope/explorer/scenario_sweep.hpp"
#include "kvscope/models/fields.hpp"

namespace kvscope::gui {

int field_column(std::string_view name) {
  const auto& f = models::fields();
  for (std::size_t i = 0; i < f.size(); ++i) {
    if (f[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

std::map<std::string, std::string> SweepData::scenario_values(std::size_t row) const {
  std::map<std::string, std::string> out;
  std::uint64_t index = indices[row];
  // The engine numbers points outermost axis first, batch innermost; unswept axes have one value.
  for (auto it = swept.rbegin(); it != swept.rend(); ++it) {
    const auto n = static_cast<std::uint64_t>(it->second.size());
    out[it->first] = it->second[static_cast<std::size_t>(index % n)];
    index /= n;
  }
  return out;
}

QString SweepData::configuration(std::size_t row) const {
  QString arch = tables ? QString::fromStdString(tables->arch_names[arch_index[row]]) : QString();
  const auto v = scenario_values(row);
  QString wl;
  if (auto it = v.find("batch"); it != v.end()) wl += " B=" + QString::fromStdString(it->second);
  if (auto it = v.find("context"); it != v.end()) wl += " S=" + QString::fromStdString(it->second);
  return wl.isEmpty() ? arch : arch + " |" + wl;
}

const std::vector<std::string>& SweepModel::axisNames() {
  static const std::vector<std::string> n = {"kv_heads", "head_dim", "cla", "kv_dtype", "context", "batch"};
  return n;
}

SweepModel::SweepModel(QObject* parent) : QObject(parent) {
  timer_.setSingleShot(true);
  timer_.setInterval(120);
  connect(&timer_, &QTimer::timeout, this, &SweepModel::startNow);
  axes_ = defaultAxes();
}

SweepModel::~SweepModel() {
  if (cancel_) cancel_->store(true);
  for (QThread* t : threads_) {
    t->wait();
    delete t;
  }
}

QString SweepModel::axis(const QString& name) const {
  auto it = axes_.find(name.toStdString());
  return it == axes_.end() ? QString() : QString::fromStdString(it->second);
}

std::map<std::string, std::string> SweepModel::defaultAxes() const {
  std::map<std::string, std::string> a = {{"kv_heads", ""},
                                          {"head_dim", ""},
                                          {"cla", "1,2,3,4"},
                                          {"kv_dtype", "bf16,fp8,int8,int4"},
                                          {"context", "1024..131072:x2"},
                                          {"batch", "1..256:x2"}};
  if (have_base_) {
    try {
      const SingleDesign d = resolve_single(base_);
      std::string kv;
      for (int k = 1; k <= d.arch.n_q_heads; ++k) {
        if (d.arch.n_q_heads % k == 0) kv += (kv.empty() ? "" : ",") + std::to_string(k);
      }
      if (!d.arch.mla) a["kv_heads"] = kv;
      // Paper rule: query heads follow d_model / head_dim; offer half and double the head size.
      const int h = d.arch.head_dim;
      if (!d.arch.mla && h >= 32) a["head_dim"] = std::to_string(h / 2) + "," + std::to_string(h) + "," + std::to_string(h * 2);
      if (d.arch.n_layers < 4) a["cla"] = "1.." + std::to_string(d.arch.n_layers);
    } catch (const Error&) {
    }
  }
  return a;
}

void SweepModel::resetAxes() {
  axes_ = defaultAxes();
  user_set_.clear();
  validateAxes();
  emit axesChanged();
  schedule();
}

void SweepModel::setAxis(const QString& name, const QString& text) {
  const std::string n = name.toStdString(), t = text.trimmed().toStdString();
  user_set_[n] = true;
  if (axes_[n] == t) return;
  axes_[n] = t;
  validateAxes();
  emit axesChanged();
  schedule();
}

void SweepModel::setBase(const Scenario& s) {
  if (have_base_ && s.values == base_.values) return;
  std::string old_model = have_base_ && base_.get("model") ? *base_.get("model") : "";
  base_ = s;
  have_base_ = true;
  // Axes the user never edited follow the model (divisors of its query heads, ...).
  const auto defaults = defaultAxes();
  bool changed = false;
  for (const auto& [n, t] : defaults) {
    if (!user_set_[n] && axes_[n] != t) {
      axes_[n] = t;
      changed = true;
    }
  }
  validateAxes();
  if (changed) emit axesChanged();
  (void)old_model;
  schedule();
}

void SweepModel::validateAxes() {
  axis_errors_.clear();
  for (const auto& [n, t] : axes_) {
    if (t.empty()) continue;
    try {
      models::SweepSpec scratch;
      models::set_axis(scratch, n, t);
    } catch (const Error& e) {
      axis_errors_[n] = QString::fromUtf8(e.what());
    }
  }
  planned_ = 0;
  if (axis_errors_.empty() && have_base_) {
    try {
      std::vector<std::pair<std::string, std::vector<std::string>>> swept;
      planned_ = models::point_count(buildSpec(swept));
    } catch (const Error& e) {
      axis_errors_[""] = QString::fromUtf8(e.what());
    }
  }
}

models::SweepSpec SweepModel::buildSpec(std::vector<std::pair<std::string, std::vector<std::string>>>& swept) const {
  Scenario s = base_;
  for (const auto& [n, t] : axes_) {
    if (!t.empty()) s.set(n, t);
  }
  if (!axes_.at("cla").empty()) {
    s.set("kv_producers", "");
    s.set("variant", "");
  }
  s.constraints.clear();
  s.objectives.clear();
  s.source = "sweep axes";
  models::SweepSpec spec = models::sweep_spec_from_scenario(s);
  swept.clear();
  auto add_int = [&](const char* name, const auto& v) {
    if (axes_.at(name).empty()) return;
    std::vector<std::string> texts;
    for (auto x : v) texts.push_back(std::to_string(x));
    swept.emplace_back(name, std::move(texts));
  };
  add_int("kv_heads", spec.overrides.n_kv_heads);
  add_int("head_dim", spec.overrides.head_dim);
  add_int("cla", spec.overrides.cla_factor);
  if (!axes_.at("kv_dtype").empty()) {
    std::vector<std::string> texts;
    for (auto d : spec.overrides.kv_dtype) texts.push_back(to_string(d));
    swept.emplace_back("kv_dtype", std::move(texts));
  }
  add_int("context", spec.workload.context);
  add_int("batch", spec.workload.batch);
  return spec;
}

void SweepModel::schedule() {
  if (cancel_) cancel_->store(true);
  timer_.start();
}

void SweepModel::cancel() {
  timer_.stop();
  if (cancel_) cancel_->store(true);
  ++generation_;
  running_ = false;
}

void SweepModel::startNow() {
  timer_.stop();
  if (cancel_) cancel_->store(true);
  if (!have_base_) return;
  if (!axis_errors_.empty()) {
    error_ = axis_errors_.begin()->second;
    emit failed(error_);
    return;
  }
  std::vector<std::pair<std::string, std::vector<std::string>>> swept;
  models::SweepSpec spec;
  std::uint64_t total = 0;
  try {
    spec = buildSpec(swept);
    total = models::point_count(spec);
  } catch (const Error& e) {
    error_ = QString::fromUtf8(e.what());
    emit failed(error_);
    return;
  }
  if (total > kMaxPoints) {
    error_ =
        QStringLiteral("the axes expand to %1 points; the explorer takes at most %2 (narrow an axis)").arg(total).arg(kMaxPoints);
    emit failed(error_);
    return;
  }
  // Finished threads are reaped here; a cancelled one stops within one block.
  threads_.erase(std::remove_if(threads_.begin(), threads_.end(),
                                [](QThread* t) {
                                  if (!t->isFinished()) return false;
                                  delete t;
                                  return true;
                                }),
                 threads_.end());
  const std::uint64_t gen = ++generation_;
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  cancel_ = cancel;
  running_ = true;
  error_.clear();
  emit started(total);

  QThread* thread = QThread::create([this, gen, cancel, spec = std::move(spec), swept = std::move(swept)]() mutable {
    auto data = std::make_shared<SweepData>();
    data->columns = models::fields().size();
    data->swept = std::move(swept);
    const auto& fields = models::fields();
    models::SweepOptions opt;
    opt.keep = models::KeepPoints::frontier;
    opt.cancel = cancel.get();
    opt.sink = [&](std::span<const models::PointResult> pts, std::span<const std::uint64_t> idx) {
      const std::size_t base = data->values.size();
      data->values.resize(base + pts.size() * data->columns);
      double* out = data->values.data() + base;
      for (std::size_t i = 0; i < pts.size(); ++i) {
        for (std::size_t c = 0; c < data->columns; ++c) *out++ = fields[c].get(pts[i]);
        data->arch_index.push_back(pts[i].arch_index);
      }
      data->indices.insert(data->indices.end(), idx.begin(), idx.end());
    };
    opt.progress = [this, gen, cancel](const models::SweepProgress& p) {
      if (cancel->load()) return;
      QMetaObject::invokeMethod(
          this,
          [this, gen, f = p.fraction, r = p.points_per_s] {
            if (gen == generation_) emit progress(f, r);
          },
          Qt::QueuedConnection);
    };
    QString err;
    try {
      models::SweepResult r = models::explore(spec, opt);
      data->total = r.total;
      data->evaluated = r.evaluated;
      data->skipped = r.skipped;
      data->infeasible = r.infeasible;
      data->partial = r.partial;
      data->elapsed_s = r.elapsed_s;
      data->tables = r.tables;
      if (!r.skipped_by_reason.empty()) {
        data->skip_summary = QString::fromStdString(r.skipped_by_reason.front().example);
      }
    } catch (const std::exception& e) {
      err = QString::fromUtf8(e.what());
    }
    if (cancel->load()) return;
    QMetaObject::invokeMethod(
        this,
        [this, gen, data, err] {
          if (gen != generation_) return;
          running_ = false;
          if (!err.isEmpty()) {
            error_ = err;
            emit failed(err);
            return;
          }
          result_ = data;
          emit finished();
        },
        Qt::QueuedConnection);
  });
  threads_.push_back(thread);
  thread->start(QThread::LowPriority);
}

}  // namespace kvscope::gui

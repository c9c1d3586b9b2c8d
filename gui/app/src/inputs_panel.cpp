#include "inputs_panel.hpp"

#include <QAbstractItemView>
#include <QComboBox>
#include <QGroupBox>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QVBoxLayout>
#include <algorithm>

#include "design_model.hpp"
#include "field_editor.hpp"
#include "kvscope/core/design.hpp"
#include "kvscope/core/design_fields.hpp"
#include "kvscope/core/error.hpp"
#include "kvscope/core/loaders.hpp"
#include "layer_strip.hpp"

namespace kvscope::gui {

namespace {
using Items = QList<QPair<QString, QString>>;

Items model_items() {
  Items items;
  try {
    for (const Architecture& a : list_model_presets()) {
      // The id alone fits a laptop-width dock; the variant is shown under the layer strip.
      items.append({QString::fromStdString(a.id), QString::fromStdString(a.id)});
    }
  } catch (const Error&) {
  }
  return items;
}

Items gpu_items() {
  Items items;
  try {
    for (const GpuSpec& g : list_gpu_presets()) {
      const QString mark = !g.calibration            ? QStringLiteral(" (datasheet defaults)")
                           : g.calibration->borrowed ? QStringLiteral(" ≈ borrowed calibration")
                                                     : QStringLiteral(" ✓ calibrated");
      items.append({QString::fromStdString(g.id) + mark, QString::fromStdString(g.id)});
    }
  } catch (const Error&) {
  }
  return items;
}

Items simple_items(const QStringList& values, const QString& default_label = {}) {
  Items items;
  if (!default_label.isNull()) items.append({default_label, QString()});
  for (const QString& v : values) items.append({v, v});
  return items;
}
}  // namespace

InputsPanel::InputsPanel(DesignModel* model, QWidget* parent) : QWidget(parent), model_(model) {
  setObjectName("inputs_panel");
  auto* v = new QVBoxLayout(this);
  v->setContentsMargins(6, 6, 6, 6);
  v->setSpacing(6);

  general_error_ = new QLabel(this);
  general_error_->setObjectName("general_error");
  general_error_->setWordWrap(true);
  general_error_->setStyleSheet("color: #b00020; background: #fde8ec; border: 1px solid #b00020; padding: 4px;");
  general_error_->setVisible(false);
  v->addWidget(general_error_);

  auto group = [&](const QString& title) {
    auto* g = new QGroupBox(title, this);
    auto* l = new QVBoxLayout(g);
    l->setContentsMargins(6, 4, 6, 4);
    l->setSpacing(2);
    v->addWidget(g);
    return l;
  };
  auto place = [&](QVBoxLayout* l, FieldEditor* e) { l->addWidget(add(e)); };

  // Labels and tooltips come from the design-field registry (core/design_fields.hpp); `extra`
  // adds what only the GUI needs to say.
  auto editor_for = [&](const char* name, const QString& extra = {}, const Items& items = {}, bool editable = true,
                        bool combo = false) {
    const DesignField& d = design_field(name);
    QString tip = QString::fromStdString(std::string(d.description));
    if (!tip.isEmpty()) tip[0] = tip[0].toUpper();
    tip += QString(" (%1").arg(QString::fromStdString(d.flag()));
    if (!d.default_text.empty()) tip += tr("; default %1").arg(QString::fromStdString(std::string(d.default_text)));
    tip += ").";
    if (!extra.isEmpty()) tip += " " + extra;
    const QString label = tr(std::string(d.gui_label).c_str());
    const QString key = QString::fromStdString(std::string(d.name));
    return items.isEmpty() && !combo ? new FieldEditor(key, label, tip) : new FieldEditor(key, label, tip, items, editable);
  };

  QVBoxLayout* m = group(tr("Model"));
  place(m,
        editor_for("model", tr("Shape fields below override it; empty fields keep the preset's value."), model_items(), false));
  place(m, editor_for("n_layers", tr("A new count re-derives a uniform CLA pattern.")));
  place(m, editor_for("d_model"));
  place(m, editor_for("n_q_heads", tr("Default: the preset's, or d_model / head_dim when head_dim changes.")));
  place(m, editor_for("head_dim"));
  place(m, editor_for("ffn_dim"));
  place(m, editor_for("vocab"));

  QVBoxLayout* hs = group(tr("Head sharing"));
  place(hs, editor_for("n_kv_heads", tr("Equal to the query heads = MHA, a divisor = GQA, 1 = MQA."), Items{}, true, true));

  QVBoxLayout* ls = group(tr("Layer sharing (cross-layer attention)"));
  place(ls, editor_for("cla_factor", tr("1 = no sharing. Overrides the producer map."),
                       simple_items({"1", "2", "3", "4", "6", "8"}, tr("(preset)")), true));
  place(ls,
        editor_for("kv_producers", tr("For each layer the layer whose K/V it reads. Edit it here or click the strip below.")));
  strip_ = new LayerStrip(this);
  ls->addWidget(strip_);
  sharing_summary_ = new QLabel(this);
  sharing_summary_->setObjectName("sharing_summary");
  sharing_summary_->setWordWrap(true);
  sharing_summary_->setStyleSheet("color: #555; font-size: 11px;");
  ls->addWidget(sharing_summary_);
  connect(strip_, &LayerStrip::producersEdited, this, [this](const QString& map) {
    model_->setValues({{"kv_producers", map.toStdString()}, {"cla_factor", ""}, {"variant", ""}});
  });

  QVBoxLayout* kv = group(tr("K/V storage"));
  place(kv, editor_for("kv_dtype", tr("int8/int4 include one fp16 scale and zero point per group of 128 elements."),
                       simple_items({"bf16", "fp16", "fp8", "int8", "int4"}, tr("(preset)")), false));
  place(kv, editor_for("layer_pattern",
                       tr("G = global attention, L = local sliding window; LG alternates, LLLLLG is 5 local : 1 global.")));
  place(kv, editor_for("window"));

  QVBoxLayout* hw = group(tr("Hardware"));
  place(hw,
        editor_for("gpu", tr("'✓ calibrated' GPUs use measured ceilings; the others datasheet-derived defaults (docs/model.md)."),
                   gpu_items(), false));
  place(hw, editor_for("tp", tr("Must divide the query heads."), simple_items({"1", "2", "4", "8"}, tr("1 (default)")), true));

  QVBoxLayout* wl = group(tr("Workload"));
  place(wl, editor_for("batch"));
  place(wl, editor_for("context"));
  place(wl, editor_for("prompt"));
  place(wl, editor_for("tpot_limit_ms", tr("The serving view picks the largest batch meeting it. Empty = none.")));
  place(wl, editor_for("runtime", {}, simple_items({"graph", "eager"}, tr("graph (default)")), false));
  place(wl, editor_for("stack", {}, simple_items({"torch-flash", "torch-cudnn", "kvbench"}, tr("torch-flash (default)")), false));

  auto* reset = new QPushButton(tr("&Reset overrides"), this);
  reset->setObjectName("reset_overrides");
  reset->setToolTip(tr("Clear every override and go back to the model preset's shape (keeps model, GPU and workload)."));
  connect(reset, &QPushButton::clicked, this, [this] {
    std::map<std::string, std::string> cleared;
    for (const DesignField& f : design_fields()) {
      if (f.is_arch()) cleared[std::string(f.name)] = "";
    }
    model_->setValues(cleared);
  });
  v->addWidget(reset);
  v->addStretch(1);

  // One label column, as wide as the longest label: the editors get the rest of a narrow dock.
  int label_w = 0;
  for (auto& [name, e] : editors_) label_w = std::max(label_w, e->label()->sizeHint().width());
  for (auto& [name, e] : editors_) e->setLabelWidth(label_w + 4);

  for (auto& [name, e] : editors_) {
    connect(e, &FieldEditor::edited, this, [this](const QString& field, const QString& text) {
      if (field == "model") {
        model_->selectModel(text);
      } else if (field == "cla_factor") {
        model_->setValues({{"cla_factor", text.toStdString()}, {"kv_producers", ""}, {"variant", ""}});
      } else if (field == "kv_producers") {
        model_->setValues({{"kv_producers", text.toStdString()}, {"cla_factor", ""}, {"variant", ""}});
      } else {
        model_->setValue(field, text);
      }
    });
  }
  connect(model_, &DesignModel::scenarioChanged, this, &InputsPanel::syncFromModel);
  connect(model_, &DesignModel::evaluated, this, &InputsPanel::showEvaluation);
  syncFromModel();
  showEvaluation();
}

FieldEditor* InputsPanel::add(FieldEditor* e) {
  e->setParent(this);
  editors_[e->field()] = e;
  return e;
}

FieldEditor* InputsPanel::editor(const QString& field) const {
  // Editors are keyed by the field's name; any spelling of it finds the editor.
  const DesignField* f = find_design_field(field.toStdString());
  auto it = editors_.find(f ? QString::fromStdString(std::string(f->name)) : field);
  return it == editors_.end() ? nullptr : it->second;
}

void InputsPanel::syncFromModel() {
  for (auto& [name, e] : editors_) {
    const QString v = model_->value(name);
    if (name == "model" && v.isEmpty())
      e->setText("llama-3-8b");
    else if (name == "gpu" && v.isEmpty())
      e->setText("h100-sxm");
    else if (!(e->editor()->hasFocus() && e->text() == v))
      e->setText(v);
  }
}

void InputsPanel::showEvaluation() {
  // Placeholders show the values in force (the preset's, or derived from other overrides).
  if (auto cur = model_->current()) {
    const Architecture& a = cur->design.arch;
    const Workload& w = cur->design.workload;
    const std::map<QString, QString> shown = {{"n_layers", QString::number(a.n_layers)},
                                              {"d_model", QString::number(a.d_model)},
                                              {"n_q_heads", QString::number(a.n_q_heads)},
                                              {"head_dim", QString::number(a.head_dim)},
                                              {"ffn_dim", QString::number(a.ffn_dim)},
                                              {"vocab", QString::number(a.vocab)},
                                              {"n_kv_heads", QString::number(a.n_kv_heads)},
                                              {"kv_producers", QString::fromStdString(a.sharing)},
                                              {"layer_pattern", QString::fromStdString(layer_pattern_of(a))},
                                              {"window", a.window ? QString::number(a.window) : tr("none")},
                                              {"batch", QString::number(w.batch)},
                                              {"context", QString::number(w.context)},
                                              {"prompt", QString::number(w.prompt)},
                                              {"tpot_limit_ms", tr("none")}};
    for (const auto& [f, t] : shown) {
      if (FieldEditor* e = editor(f)) e->setPlaceholder(t);
    }
    if (FieldEditor* e = editor("n_kv_heads")) {
      QList<QPair<QString, QString>> items;
      for (int k = a.n_q_heads; k >= 1; --k) {
        if (a.n_q_heads % k) continue;
        const QString kind = k == a.n_q_heads ? "MHA" : k == 1 ? "MQA" : QString("GQA%1").arg(k);
        items.append({QString("%1  (%2)").arg(k).arg(kind), QString::number(k)});
      }
      if (!e->comboBox()->view()->isVisible()) {
        e->setItems(items);
        e->setText(model_->value("n_kv_heads"));
      }
    }
    if (model_->valid()) {
      std::vector<int> prod = a.kv_producer;
      if (prod.empty()) {
        for (int i = 0; i < a.n_layers; ++i) prod.push_back(i);
      }
      std::vector<bool> local;
      for (auto k : a.layer_kind) local.push_back(k == LayerKind::local);
      strip_->setLayers(prod, local);
      sharing_summary_->setText(tr("%1 of %2 layers store K/V (%3) · %4")
                                    .arg(kv_layer_count(a))
                                    .arg(a.n_layers)
                                    .arg(QString::fromStdString(sharing_label(a)))
                                    .arg(QString::fromStdString(variant_name(a))));
    }
  }
  std::map<QString, QString> errs;
  QStringList general;
  for (const auto& [field, msg] : model_->errors()) {
    const QString f = QString::fromStdString(field);
    if (FieldEditor* e = editor(f))
      errs[e->field()] = msg;
    else
      general << (f.isEmpty() ? msg : f + ": " + msg);
  }
  for (auto& [name, e] : editors_) {
    auto it = errs.find(name);
    e->setError(it == errs.end() ? QString() : it->second);
  }
  general_error_->setText(general.join('\n'));
  general_error_->setVisible(!general.isEmpty());
  if (!model_->valid()) sharing_summary_->setText(tr("Inputs invalid: the views show the last valid configuration."));
}

}  // namespace kvscope::gui

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
      const QString mark = !g.calibration              ? QStringLiteral(" (datasheet defaults)")
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

  QVBoxLayout* m = group(tr("Model"));
  place(m, new FieldEditor("model", tr("&Preset"), tr("Model preset: a bundled architecture (data/models). Shape fields "
                                                     "below override it; empty fields keep the preset's value."),
                           model_items(), false));
  const char* shape[][3] = {
      {"layers", "Layers", "Number of transformer layers (--layers). A new count re-derives a uniform CLA pattern."},
      {"d_model", "d_model", "Hidden size (--d-model)."},
      {"q_heads", "Query heads", "Query heads (--q-heads). Default: the preset's, or d_model / head_dim when head_dim changes."},
      {"head_dim", "Head dim", "Head dimension (--head-dim). Without explicit query heads the paper's rule "
                               "n_query x head_dim = d_model sets the query heads."},
      {"ffn", "FFN", "Dense MLP intermediate size (--ffn)."},
      {"vocab", "Vocab", "Vocabulary size (--vocab)."}};
  for (const auto& s : shape) place(m, new FieldEditor(s[0], tr(s[1]), tr(s[2])));

  QVBoxLayout* hs = group(tr("Head sharing"));
  place(hs, new FieldEditor("kv_heads", tr("&K/V heads"),
                            tr("K/V heads (--kv-heads): equal to the query heads = MHA, a divisor = GQA, 1 = MQA. "
                               "Must divide the query heads."),
                            {}, true));

  QVBoxLayout* ls = group(tr("Layer sharing (cross-layer attention)"));
  place(ls, new FieldEditor("cla", tr("&CLA factor"),
                            tr("Uniform cross-layer attention (--cla): groups of c adjacent layers share the K/V of the "
                               "lowest layer. 1 = no sharing. Overrides the producer map."),
                            simple_items({"1", "2", "3", "4", "6", "8"}, tr("(preset)")), true));
  place(ls, new FieldEditor("kv_producers", tr("Producer &map"),
                            tr("Explicit producer map (--kv-producers): for each layer the layer whose K/V it reads, "
                               "e.g. 0,0,2,2 or 0_0_2_2, or a pattern name KeepEnds / DenseFront / DenseBack. "
                               "Edit it here or click the strip below.")));
  strip_ = new LayerStrip(this);
  ls->addWidget(strip_);
  sharing_summary_ = new QLabel(this);
  sharing_summary_->setObjectName("sharing_summary");
  sharing_summary_->setWordWrap(true);
  sharing_summary_->setStyleSheet("color: #555; font-size: 11px;");
  ls->addWidget(sharing_summary_);
  connect(strip_, &LayerStrip::producersEdited, this, [this](const QString& map) {
    model_->setValues({{"kv_producers", map.toStdString()}, {"cla", ""}, {"variant", ""}});
  });

  QVBoxLayout* kv = group(tr("K/V storage"));
  place(kv, new FieldEditor("kv_dtype", tr("K/V &dtype"),
                            tr("Element type of the cached K/V (--kv-dtype). int8/int4 include one fp16 scale and zero "
                               "point per group of 128 elements."),
                            simple_items({"bf16", "fp16", "fp8", "int8", "int4"}, tr("(preset)")), false));
  place(kv, new FieldEditor("layer_pattern", tr("&Layer kinds"),
                            tr("Layer kinds repeated over the layers (--layer-pattern): G = global attention, "
                               "L = local sliding window; e.g. LG alternates, LLLLLG is 5 local : 1 global.")));
  place(kv, new FieldEditor("window", tr("Window"), tr("Sliding-window length in positions for local layers (--window).")));

  QVBoxLayout* hw = group(tr("Hardware"));
  place(hw, new FieldEditor("gpu", tr("&GPU"),
                            tr("GPU profile (--gpu). '✓ calibrated' GPUs use ceilings measured with kvbench; the others "
                               "use datasheet-derived defaults (see docs/model.md)."),
                            gpu_items(), false));
  place(hw, new FieldEditor("tp", tr("&TP"), tr("Tensor-parallel degree (--tp): must divide the query heads."),
                            simple_items({"1", "2", "4", "8"}, tr("1 (default)")), true));

  QVBoxLayout* wl = group(tr("Workload"));
  place(wl, new FieldEditor("batch", tr("&Batch"), tr("Requests decoded together (--batch). Default 1.")));
  place(wl, new FieldEditor("context", tr("C&ontext"), tr("Positions each request holds and attends to (--context). Default 8192.")));
  place(wl, new FieldEditor("prompt", tr("Prom&pt"), tr("Prompt tokens per request, for prefill and TTFT (--prompt). Default 2048.")));
  place(wl, new FieldEditor("tpot_limit_ms", tr("TPOT &limit"),
                            tr("Optional latency limit per output token in ms (--tpot-limit-ms); the serving view picks the "
                               "largest batch meeting it. Empty = none.")));
  place(wl, new FieldEditor("runtime", tr("Runtime"),
                            tr("How the decode step is launched (--runtime): graph = CUDA graph replay, eager = stream launches."),
                            simple_items({"graph", "eager"}, tr("graph (default)")), false));
  place(wl, new FieldEditor("stack", tr("&Stack"),
                            tr("Kernel stack that runs the step (--stack; `kvscope stacks`): torch-flash = PyTorch eager ops + "
                               "SDPA flash, torch-cudnn = the same with cuDNN attention, kvbench = hand-fused reference kernels."),
                            simple_items({"torch-flash", "torch-cudnn", "kvbench"}, tr("torch-flash (default)")), false));

  auto* reset = new QPushButton(tr("&Reset overrides"), this);
  reset->setObjectName("reset_overrides");
  reset->setToolTip(tr("Clear every override and go back to the model preset's shape (keeps model, GPU and workload)."));
  connect(reset, &QPushButton::clicked, this, [this] {
    std::map<std::string, std::string> cleared;
    for (const char* f : {"layers", "d_model", "q_heads", "kv_heads", "head_dim", "ffn", "vocab", "cla", "kv_producers",
                          "variant", "kv_dtype", "window", "layer_pattern"}) {
      cleared[f] = "";
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
      } else if (field == "cla") {
        model_->setValues({{"cla", text.toStdString()}, {"kv_producers", ""}, {"variant", ""}});
      } else if (field == "kv_producers") {
        model_->setValues({{"kv_producers", text.toStdString()}, {"cla", ""}, {"variant", ""}});
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
  auto it = editors_.find(field);
  return it == editors_.end() ? nullptr : it->second;
}

void InputsPanel::syncFromModel() {
  for (auto& [name, e] : editors_) {
    const QString v = model_->value(name);
    if (name == "model" && v.isEmpty()) e->setText("llama-3-8b");
    else if (name == "gpu" && v.isEmpty()) e->setText("h100-sxm");
    else if (!(e->editor()->hasFocus() && e->text() == v)) e->setText(v);
  }
}

void InputsPanel::showEvaluation() {
  // Placeholders show the values in force (the preset's, or derived from other overrides).
  if (auto cur = model_->current()) {
    const Architecture& a = cur->design.arch;
    const Workload& w = cur->design.workload;
    const std::map<QString, QString> shown = {
        {"layers", QString::number(a.n_layers)},     {"d_model", QString::number(a.d_model)},
        {"q_heads", QString::number(a.n_q_heads)},   {"head_dim", QString::number(a.head_dim)},
        {"ffn", QString::number(a.ffn_dim)},         {"vocab", QString::number(a.vocab)},
        {"kv_heads", QString::number(a.n_kv_heads)}, {"kv_producers", QString::fromStdString(a.sharing)},
        {"layer_pattern", QString::fromStdString(layer_pattern_of(a))},
        {"window", a.window ? QString::number(a.window) : tr("none")},
        {"batch", QString::number(w.batch)},         {"context", QString::number(w.context)},
        {"prompt", QString::number(w.prompt)},       {"tpot_limit_ms", tr("none")}};
    for (const auto& [f, t] : shown) {
      if (FieldEditor* e = editor(f)) e->setPlaceholder(t);
    }
    if (FieldEditor* e = editor("kv_heads")) {
      QList<QPair<QString, QString>> items;
      for (int k = a.n_q_heads; k >= 1; --k) {
        if (a.n_q_heads % k) continue;
        const QString kind = k == a.n_q_heads ? "MHA" : k == 1 ? "MQA" : QString("GQA%1").arg(k);
        items.append({QString("%1  (%2)").arg(k).arg(kind), QString::number(k)});
      }
      if (!e->comboBox()->view()->isVisible()) {
        e->setItems(items);
        e->setText(model_->value("kv_heads"));
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
    if (editor(f)) errs[f] = msg;
    else general << (f.isEmpty() ? msg : f + ": " + msg);
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

#pragma once
// DesignModel: the view-model of the current design point. Holds the Scenario (the same field
// names and texts as the CLI flags and `kvscope-scenario/1` files), resolves and evaluates it
// with the kvscope libraries on every change (a single point takes microseconds, so this runs
// on the GUI thread), reports errors per field, and keeps pinned configurations for comparison.
#include <QObject>
#include <QString>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kvscope/core/error.hpp"
#include "kvscope/core/gpu.hpp"
#include "kvscope/core/scenario.hpp"
#include "kvscope/models/evaluate.hpp"
#include "kvscope/models/fields.hpp"
#include "kvscope/models/memory.hpp"
#include "kvscope/models/profile.hpp"

namespace kvscope::gui {

// A resolved and evaluated design point (immutable once built; shared with views and pins).
struct DesignPoint {
  Scenario scenario;
  SingleDesign design;
  models::ArchProfile profile;
  TimingParams params;
  models::ArchFacts facts;
  models::Evaluation eval;
  std::vector<models::LayerRow> layers;

  // The point in the form the field registry reads (arch points into `facts`).
  models::PointResult point() const;
  // "llama-3-8b H128-GQA8 bf16 | h100-sxm | B=1 S=8192"
  QString label() const;
};

// Resolves and evaluates a scenario. Throws kvscope::Error on invalid input.
std::shared_ptr<const DesignPoint> evaluate_scenario(const Scenario& s);

// The scenario key (the spelling stored in `s`) of the design field a library error is about, by
// InputError::field() (or its key when untagged), or "" when it is about no single field.
std::string field_of_error(const InputError& e, const Scenario& s);

class DesignModel : public QObject {
  Q_OBJECT
 public:
  explicit DesignModel(QObject* parent = nullptr);

  const Scenario& scenario() const { return scenario_; }
  // The text of a scenario field ("" when unset, i.e. the default / the preset's value).
  QString value(const QString& name) const;
  // Sets one field ("" clears it) and re-evaluates.
  void setValue(const QString& name, const QString& text);
  // Sets several fields with one re-evaluation ("" clears a field).
  void setValues(const std::map<std::string, std::string>& values);
  // Switches the model preset and clears the shape overrides that belong to the old model.
  void selectModel(const QString& preset);
  void setScenario(const Scenario& s);
  // The scenario's objectives ("tpot_s:min,decode_tokens_per_s:max"): the Pareto view's axes.
  // Changing them does not re-evaluate the design.
  void setObjectives(const QString& objectives);

  // Scenario files (kvscope-scenario/1). Throw kvscope::Error.
  void load(const QString& path);
  void save(const QString& path) const;

  // The last valid evaluation (stays when the inputs become invalid), or null before any.
  std::shared_ptr<const DesignPoint> current() const { return current_; }
  // True when the present inputs evaluate; false while any error is shown.
  bool valid() const { return errors_.empty(); }
  // Scenario field -> message; "" -> an error no single field can be blamed for.
  const std::map<std::string, QString>& errors() const { return errors_; }
  QString errorText() const;  // all errors, one per line
  // The model preset without overrides (placeholders show its values), or null if unresolvable.
  std::shared_ptr<const Architecture> baseArchitecture() const { return base_; }

  // Pinned configurations, compared side by side.
  struct Pin {
    QString label;
    std::shared_ptr<const DesignPoint> point;
  };
  const std::vector<Pin>& pins() const { return pins_; }
  void pinCurrent();
  void unpin(int index);
  void clearPins();

 signals:
  void scenarioChanged();
  // After every re-evaluation, valid or not (check valid()/errors()).
  void evaluated();
  void pinsChanged();

 private:
  void reevaluate();

  Scenario scenario_;
  std::shared_ptr<const DesignPoint> current_;
  std::shared_ptr<const Architecture> base_;
  std::map<std::string, QString> errors_;
  std::vector<Pin> pins_;
};

}  // namespace kvscope::gui

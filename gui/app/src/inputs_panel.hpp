#pragma once
// InputsPanel: every input of the design point, always visible, validated inline. Each editor
// writes one scenario field into the DesignModel; the model's errors come back per field.
#include <QWidget>
#include <map>

QT_BEGIN_NAMESPACE
class QLabel;
QT_END_NAMESPACE

namespace kvscope::gui {

class DesignModel;
class FieldEditor;
class LayerStrip;

class InputsPanel : public QWidget {
  Q_OBJECT
 public:
  explicit InputsPanel(DesignModel* model, QWidget* parent = nullptr);
  FieldEditor* editor(const QString& field) const;
  LayerStrip* layerStrip() const { return strip_; }
  QLabel* generalError() const { return general_error_; }

 private:
  FieldEditor* add(FieldEditor* e);
  void syncFromModel();
  void showEvaluation();

  DesignModel* model_;
  std::map<QString, FieldEditor*> editors_;
  LayerStrip* strip_ = nullptr;
  QLabel* general_error_ = nullptr;
  QLabel* sharing_summary_ = nullptr;
};

}  // namespace kvscope::gui

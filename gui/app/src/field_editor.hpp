#pragma once
// FieldEditor: one labelled input for a scenario field, with its inline error underneath.
#include <QWidget>

QT_BEGIN_NAMESPACE
class QComboBox;
class QLabel;
class QLineEdit;
QT_END_NAMESPACE

namespace kvscope::gui {

class FieldEditor : public QWidget {
  Q_OBJECT
 public:
  // A line edit (free text such as "8" or "1,2,4..64:x2").
  FieldEditor(const QString& field, const QString& label, const QString& tooltip, QWidget* parent = nullptr);
  // A combo box; items are (display text, value). Editable combos accept any text.
  FieldEditor(const QString& field, const QString& label, const QString& tooltip, const QList<QPair<QString, QString>>& items,
              bool editable, QWidget* parent = nullptr);

  QString field() const { return field_; }
  QString text() const;
  // Sets the shown value without emitting edited().
  void setText(const QString& text);
  void setItems(const QList<QPair<QString, QString>>& items);
  void setPlaceholder(const QString& text);
  // "" clears the error; otherwise the editor is outlined red and the message shown under it.
  void setError(const QString& message);
  QString error() const { return error_; }
  bool hasError() const { return !error_.isEmpty(); }
  QLineEdit* lineEdit() const { return line_; }
  QComboBox* comboBox() const { return combo_; }
  QWidget* editor() const;
  QLabel* errorLabel() const { return error_label_; }
  QLabel* label() const { return label_; }
  // Width of the label column in pixels; -1 fits the label's own text (compact rows).
  void setLabelWidth(int px);

 signals:
  void edited(const QString& field, const QString& text);

 private:
  void build(const QString& label, const QString& tooltip, QWidget* editor);
  QString field_;
  QLineEdit* line_ = nullptr;
  QComboBox* combo_ = nullptr;
  QLabel* label_ = nullptr;
  QLabel* error_label_ = nullptr;
  QString error_;
  bool updating_ = false;
};

}  // namespace kvscope::gui

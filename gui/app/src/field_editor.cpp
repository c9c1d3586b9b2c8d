#include "field_editor.hpp"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QVBoxLayout>

namespace kvscope::gui {

FieldEditor::FieldEditor(const QString& field, const QString& label, const QString& tooltip, QWidget* parent)
    : QWidget(parent), field_(field) {
  line_ = new QLineEdit(this);
  line_->setClearButtonEnabled(true);
  build(label, tooltip, line_);
  connect(line_, &QLineEdit::textEdited, this, [this](const QString& t) { emit edited(field_, t); });
}

FieldEditor::FieldEditor(const QString& field, const QString& label, const QString& tooltip,
                         const QList<QPair<QString, QString>>& items, bool editable, QWidget* parent)
    : QWidget(parent), field_(field) {
  combo_ = new QComboBox(this);
  combo_->setEditable(editable);
  combo_->setInsertPolicy(QComboBox::NoInsert);
  combo_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  combo_->setMinimumContentsLength(10);
  setItems(items);
  build(label, tooltip, combo_);
  connect(combo_, &QComboBox::activated, this, [this](int) {
    if (!updating_) emit edited(field_, text());
  });
  if (editable) {
    connect(combo_->lineEdit(), &QLineEdit::textEdited, this, [this](const QString& t) { emit edited(field_, t.trimmed()); });
  }
}

void FieldEditor::build(const QString& label, const QString& tooltip, QWidget* editor) {
  setObjectName("field_" + field_);
  editor->setObjectName("edit_" + field_);
  editor->setToolTip(tooltip);
  auto* v = new QVBoxLayout(this);
  v->setContentsMargins(0, 1, 0, 1);
  v->setSpacing(1);
  auto* h = new QHBoxLayout;
  auto* l = new QLabel(label, this);
  l->setBuddy(editor);
  l->setToolTip(tooltip);
  // The label fits its text; a panel of editors aligns them (setLabelWidth).
  l->setSizePolicy(QSizePolicy::Fixed, QSizePolicy::Preferred);
  label_ = l;
  h->addWidget(l);
  h->addWidget(editor, 1);
  v->addLayout(h);
  error_label_ = new QLabel(this);
  error_label_->setObjectName("error_" + field_);
  error_label_->setWordWrap(true);
  error_label_->setStyleSheet("color: #b00020; font-size: 11px;");
  error_label_->setVisible(false);
  v->addWidget(error_label_);
}

void FieldEditor::setLabelWidth(int px) {
  if (px < 0) {
    label_->setMinimumWidth(0);
    label_->setMaximumWidth(QWIDGETSIZE_MAX);
    label_->setSizePolicy(QSizePolicy::Fixed, QSizePolicy::Preferred);
  } else {
    label_->setFixedWidth(px);
  }
}

QWidget* FieldEditor::editor() const {
  return line_ ? static_cast<QWidget*>(line_) : combo_;
}

QString FieldEditor::text() const {
  if (line_) return line_->text().trimmed();
  if (combo_->isEditable()) {
    const QString t = combo_->currentText().trimmed();
    const int i = combo_->findText(t);
    return i >= 0 && combo_->itemData(i).isValid() ? combo_->itemData(i).toString() : t;
  }
  return combo_->currentData().toString();
}

void FieldEditor::setText(const QString& t) {
  updating_ = true;
  if (line_) {
    if (line_->text() != t) line_->setText(t);
  } else {
    const int i = combo_->findData(t);
    if (i >= 0) {
      combo_->setCurrentIndex(i);
      if (combo_->isEditable() && combo_->currentText() != combo_->itemText(i)) combo_->setEditText(combo_->itemText(i));
    } else if (combo_->isEditable()) {
      if (combo_->currentText() != t) combo_->setEditText(t);
    }
  }
  updating_ = false;
}

void FieldEditor::setItems(const QList<QPair<QString, QString>>& items) {
  if (!combo_) return;
  updating_ = true;
  const QString keep = combo_->count() ? text() : QString();
  combo_->clear();
  for (const auto& [display, value] : items) combo_->addItem(display, value);
  if (!keep.isEmpty()) setText(keep);
  updating_ = false;
}

void FieldEditor::setPlaceholder(const QString& t) {
  if (line_)
    line_->setPlaceholderText(t);
  else if (combo_->isEditable())
    combo_->lineEdit()->setPlaceholderText(t);
}

void FieldEditor::setError(const QString& message) {
  if (message == error_) return;
  error_ = message;
  error_label_->setText(message);
  error_label_->setVisible(!message.isEmpty());
  editor()->setStyleSheet(message.isEmpty() ? QString() : QStringLiteral("border: 2px solid #b00020;"));
  editor()->setAccessibleDescription(message);
}

}  // namespace kvscope::gui

"""One editor per setting, built from its schema type (`Option.type.kind`): checkbox, spin box
with range and unit, combo with translated labels, time, text, password, or a small table for
lists. Each `Field` reads back a value or raises `SettingError` saying what is allowed."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QTime, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from tray_app.config.schema import Float, FolderList, Option, SettingError, ToolPatterns
from tray_app.system import fmt
from tray_app.system.i18n import _


class Field(QObject):
    changed = Signal()

    def __init__(self, option: Option, widget: QWidget) -> None:
        super().__init__(widget)
        self.option = option
        self.widget = widget

    @property
    def key(self) -> str:
        return self.option.key

    def value(self) -> Any:
        """The value shown, validated by its type; SettingError(reason) if it is not allowed."""
        return self.option.type.validate(self._raw())

    def _raw(self) -> Any:
        raise NotImplementedError

    def set_value(self, value: Any) -> None:
        raise NotImplementedError

    def hint(self) -> str:
        """What is allowed, shown beside the field at all times (ranges); empty for most."""
        return ""


class BoolField(Field):
    def __init__(self, option: Option) -> None:
        box = QCheckBox(option.describe())
        super().__init__(option, box)
        self.box = box
        box.toggled.connect(self.changed)

    def _raw(self) -> bool:
        return self.box.isChecked()

    def set_value(self, value: Any) -> None:
        self.box.setChecked(bool(value))


class _NumberField(Field):
    spin: QSpinBox | QDoubleSpinBox

    def _setup(self) -> None:
        t = self.option.type
        self.spin.setRange(t.minimum, t.maximum)  # type: ignore[attr-defined]
        unit = self.option.unit_text()
        if unit:
            self.spin.setSuffix(f" {unit}")
        self.spin.setAccelerated(True)
        self.spin.setGroupSeparatorShown(t.maximum >= 10_000)  # type: ignore[attr-defined]
        self.spin.valueChanged.connect(self.changed)
        self.spin.lineEdit().textEdited.connect(self.changed)  # an empty box is caught too

    def _raw(self) -> Any:
        if not self.spin.hasAcceptableInput():
            raise SettingError(self.option.type.allowed())
        return self.spin.value()

    def set_value(self, value: Any) -> None:
        self.spin.setValue(value)

    def hint(self) -> str:
        t = self.option.type
        # flexible: "1,000,000" / "1 000 000", where the schema's messages would say "1e+06"
        return _("from {min} to {max}").format(
            min=fmt.flexible(t.minimum),  # type: ignore[attr-defined]
            max=fmt.flexible(t.maximum),  # type: ignore[attr-defined]
        )


class IntField(_NumberField):
    def __init__(self, option: Option) -> None:
        self.spin = QSpinBox()
        super().__init__(option, self.spin)
        self._setup()


class FloatField(_NumberField):
    def __init__(self, option: Option) -> None:
        self.spin = QDoubleSpinBox()
        super().__init__(option, self.spin)
        t = option.type
        assert isinstance(t, Float)
        # The schema names the decimals where the range alone would choose badly (a price: 4).
        self.spin.setDecimals(t.decimals if t.decimals is not None else 2 if t.maximum <= 100 else 1)
        self.spin.setSingleStep(0.1 if t.maximum <= 100 else 1.0)
        self._setup()


class ChoiceField(Field):
    def __init__(self, option: Option) -> None:
        self.combo = QComboBox()
        super().__init__(option, self.combo)
        t = option.type
        for choice in t.choices:  # type: ignore[attr-defined]
            label = t.labels.get(choice)  # type: ignore[attr-defined]
            self.combo.addItem(_(label) if label else choice, choice)
        self.combo.currentIndexChanged.connect(self.changed)

    def _raw(self) -> Any:
        return self.combo.currentData()

    def set_value(self, value: Any) -> None:
        index = self.combo.findData(value)
        self.combo.setCurrentIndex(max(index, 0))


class TimeField(Field):
    def __init__(self, option: Option) -> None:
        self.edit = QTimeEdit()
        super().__init__(option, self.edit)
        self.edit.setDisplayFormat("HH:mm")
        self.edit.timeChanged.connect(self.changed)

    def _raw(self) -> str:
        return self.edit.time().toString("HH:mm")

    def set_value(self, value: Any) -> None:
        self.edit.setTime(QTime.fromString(str(value), "HH:mm"))


class TextField(Field):
    def __init__(self, option: Option, secret: bool = False) -> None:
        self.edit = QLineEdit()
        super().__init__(option, self.edit)
        if secret:
            self.edit.setEchoMode(QLineEdit.EchoMode.PasswordEchoOnEdit)
            self.edit.setPlaceholderText(_("empty: none"))
        self.edit.textChanged.connect(self.changed)

    def _raw(self) -> str:
        return self.edit.text()

    def set_value(self, value: Any) -> None:
        self.edit.setText(str(value))


class ListField(Field):
    """A small table: one column of folders, or name + match for extra tools."""

    def __init__(self, option: Option) -> None:
        box = QWidget()
        super().__init__(option, box)
        self.tools = isinstance(option.type, ToolPatterns)
        headers = [_("Name"), _("Program path or glob")] if self.tools else [_("Folder")]
        self.table = QTableWidget(0, len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        self.table.horizontalHeader().setSectionResizeMode(
            len(headers) - 1, QHeaderView.ResizeMode.Stretch
        )
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setMinimumHeight(110)
        self.table.itemChanged.connect(self.changed)
        self.add_button = QPushButton(_("Add"))
        self.remove_button = QPushButton(_("Remove"))
        self.add_button.clicked.connect(self.add_row)
        self.remove_button.clicked.connect(self.remove_selected)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        layout.addLayout(buttons)

    def add_row(self, cells: list[str] | None = None, edit: bool = True) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        for column in range(self.table.columnCount()):
            text = cells[column] if cells and column < len(cells) else ""
            self.table.setItem(row, column, QTableWidgetItem(text))
        if edit and not cells:
            self.table.setCurrentCell(row, 0)
            self.table.editItem(self.table.item(row, 0))
        self.changed.emit()

    def remove_selected(self) -> None:
        rows = sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True)
        for row in rows or ([self.table.rowCount() - 1] if self.table.rowCount() else []):
            self.table.removeRow(row)
        self.changed.emit()

    def _cell(self, row: int, column: int) -> str:
        item = self.table.item(row, column)
        return item.text().strip() if item is not None else ""

    def _raw(self) -> list[Any]:
        rows = [
            [self._cell(r, c) for c in range(self.table.columnCount())]
            for r in range(self.table.rowCount())
        ]
        rows = [r for r in rows if any(r)]  # a blank row just added is not an entry
        if self.tools:
            return [{"name": r[0], "match": r[1]} for r in rows]
        return [r[0] for r in rows]

    def set_value(self, value: Any) -> None:
        blocked = self.table.blockSignals(True)
        self.table.setRowCount(0)
        for entry in value or []:
            cells = [entry["name"], entry["match"]] if self.tools else [str(entry)]
            self.add_row(cells, edit=False)
        self.table.blockSignals(blocked)
        self.changed.emit()


def make_field(option: Option) -> Field:
    kind = option.type.kind
    if kind == "bool":
        return BoolField(option)
    if kind == "int":
        return IntField(option)
    if kind == "float":
        return FloatField(option)
    if kind == "choice":
        return ChoiceField(option)
    if kind == "time":
        return TimeField(option)
    if kind == "list" or isinstance(option.type, (ToolPatterns, FolderList)):
        return ListField(option)
    field = TextField(option, secret=option.secret or kind == "secret")
    field.widget.setMinimumWidth(220)
    return field

"""A setting shown as a sentence with its controls inside it (`Option.sentence`):

    [x] Remind me when a session passes [ 50 Wh ]

The sentence is one translatable string whose `{dotted.key}` fields are the controls, so a
translator can move them; the words between flow and wrap like a paragraph (`FlowLayout`).
A Bool owner is the checkbox that starts the sentence: clicking its words ticks it."""

from __future__ import annotations

import re

from PySide6.QtWidgets import QLabel, QWidget

from tray_app.config.schema import SCHEMA, Option
from tray_app.system.i18n import _
from tray_app.ui.settings.flow import FlowLayout
from tray_app.ui.settings.widgets import BoolField, Field

_FIELD = re.compile(r"\{([a-z0-9_.]+)\}")
_KEYS = {o.key for o in SCHEMA}


def parts(sentence: str) -> list[str | tuple[str]]:
    """'Remind me after {reminders.images} in one session' ->
    ['Remind me after', ('reminders.images',), 'in one session'] (keys as 1-tuples)."""
    out: list[str | tuple[str]] = []
    pos = 0
    for match in _FIELD.finditer(sentence):
        if match.group(1) not in _KEYS:
            continue  # not a setting: left as text
        text = sentence[pos : match.start()].strip()
        if text:
            out.append(text)
        out.append((match.group(1),))
        pos = match.end()
    tail = sentence[pos:].strip()
    if tail:
        out.append(tail)
    return out


def keys_in(option: Option) -> list[str]:
    """The settings edited inside `option`'s sentence, the owner first."""
    inner = [p[0] for p in parts(_(option.sentence)) if isinstance(p, tuple)] if option.sentence else []
    return [option.key, *(k for k in inner if k != option.key)]


class SentenceRow(QWidget):
    """One sentence; `fields` holds the editors of every key it names (made by the dialog)."""

    def __init__(self, owner: Option, fields: dict[str, Field]) -> None:
        super().__init__()
        self.owner = owner
        self.words: list[QLabel] = []
        # Words are spaced by the font's own space, so the sentence reads as text.
        flow = FlowLayout(self, spacing=max(3, self.fontMetrics().horizontalAdvance(" ")))
        pieces = parts(_(owner.sentence))
        owner_field = fields[owner.key]
        if isinstance(owner_field, BoolField):
            # The checkbox carries the words up to the first control: they toggle it.
            lead = pieces.pop(0) if pieces and isinstance(pieces[0], str) else ""
            owner_field.box.setText(str(lead))
            flow.addWidget(owner_field.widget)
        spoken = _FIELD.sub("…", _(owner.sentence))
        for piece in pieces:
            if isinstance(piece, tuple):
                field = fields[piece[0]]
                field.widget.setAccessibleName(spoken)
                flow.addWidget(field.widget)
            else:
                for word in piece.split(" "):  # words flow one by one; no-break spaces hold
                    label = QLabel(word)
                    self.words.append(label)
                    flow.addWidget(label)
        owner_field.widget.setAccessibleName(spoken)

    def text(self) -> str:
        """The sentence as shown, controls left out (tests, accessibility)."""
        return " ".join(w.text() for w in self.words)

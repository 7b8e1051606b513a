"""The gentle reminder engine: a pure state machine with an injected clock and veto hooks.

The monitor calls `evaluate(state)` every few seconds; it returns at most one `Reminder`.

Gentleness, in the order it is applied:
1. Each rule speaks once per scope (session, day, budget period) and may add one softer
   follow-up at twice its threshold. 100 % of the budget supersedes 80 %.
2. Snooze and quiet hours **drop** what comes due meanwhile (it is recorded as said, so there is
   no burst of stale reminders afterwards), except the single latest one: when the silence ends
   it is re-checked against the live numbers and spoken (fresh figures) if still true and still
   current: same session, same day or period. `not_today()` drops even that one.
3. A global cooldown between any two reminders. A reminder silenced by the cooldown was never
   created: its rule stays unsaid and may speak when the cooldown is over, with the numbers of
   that moment.
4. Veto hooks (Safe Eyes style): the UI registers `veto(reminder) -> str | None`. A reason holds
   the reminder back (do-not-disturb, full-screen app): it is still returned, marked
   `delivery="held:<reason>"`, kept in `held()` for the tray menu, and counts as said.

Its memory (what was said per session/day/period, the last reminder, the snooze) goes through
`to_dict()`/`from_dict()` so "once per day" still holds after the app restarts.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import Any

from tray_app.config.settings import TypedSettings
from tray_app.reminders import rules as r
from tray_app.reminders.phrasing import render
from tray_app.system.i18n import _

log = logging.getLogger(__name__)

STATE_VERSION = 1
STATE_FILE = "reminders-state.json"
SNOOZE_HOUR_S = 3600.0
# Power above the limit may dip between images (VAE decode, saving): dips this short keep the
# streak. A longer gap between two evaluations (sleep, a frozen monitor) breaks it: we did not see.
POWER_DIP_GRACE_S = 30.0
POWER_MAX_GAP_S = 120.0
MAX_SESSIONS_REMEMBERED = 50
HELD_MAX_AGE_S = 24 * 3600.0
TIP_PREFIX = "tip:"

Veto = Callable[["Reminder"], "str | None"]
# The typed settings, or a mapping of dotted keys (the rest at their defaults), as in tests.
Settings = TypedSettings | Mapping[str, Any]


@dataclass(slots=True)
class Reminder:
    id: str
    ts: float
    rule: str  # one of rules.RULE_IDS
    follow_up: bool
    session_id: str | int | None
    values: dict[str, Any]  # the measured numbers behind the text
    title: str
    body: str  # localised, final
    tip: str
    delivery: str | None = None  # None until delivered; "held:<reason>" when a veto held it

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Reminder:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def _trigger_to_dict(t: r.Trigger) -> dict[str, Any]:
    return {
        "rule": t.rule,
        "scope": t.scope,
        "level": t.level,
        "follow_up": t.follow_up,
        "value": t.value,
        "threshold": t.threshold,
    }


@dataclass(slots=True)
class _Memory:
    """Everything that must survive a restart."""

    said: dict[str, dict[str, int]] = field(default_factory=dict)
    last_reminder_ts: float | None = None
    snooze_until: float | None = None
    snooze_replay: bool = True
    pending: r.Trigger | None = None
    spoken: dict[str, int] = field(default_factory=dict)  # phrasing rotation per rule/follow-up
    tips_given: int = 0
    held: list[Reminder] = field(default_factory=list)


class ReminderEngine:
    def __init__(
        self,
        settings: Settings,
        clock: Callable[[], float] = time.time,
        tz: tzinfo | None = None,  # None: the system's local time
        *,
        seed: int = 0,
    ) -> None:
        self._clock = clock
        self._tz = tz
        self._seed = seed
        self._cfg = r.ReminderConfig.from_settings(settings)
        self._vetoes: list[Veto] = []
        self._mem = _Memory()
        # Not persisted: a restart breaks the observation, and we only report what we saw.
        self._power_since: float | None = None
        self._power_last_above: float | None = None
        self._power_seen: float | None = None

    # --- configuration ------------------------------------------------------------------------

    @property
    def config(self) -> r.ReminderConfig:
        return self._cfg

    def update_settings(self, settings: Settings) -> None:
        self._cfg = r.ReminderConfig.from_settings(settings)

    def add_veto(self, fn: Veto) -> None:
        self._vetoes.append(fn)

    def remove_veto(self, fn: Veto) -> None:
        if fn in self._vetoes:
            self._vetoes.remove(fn)

    # --- snooze -------------------------------------------------------------------------------

    @property
    def snoozed_until(self) -> float | None:
        until = self._mem.snooze_until
        return until if until is not None and until > self._clock() else None

    def snooze(self, until_ts: float) -> None:
        self._mem.snooze_until = until_ts if until_ts > self._clock() else None
        self._mem.snooze_replay = True

    def snooze_for(self, seconds: float = SNOOZE_HOUR_S) -> float:
        until = self._clock() + seconds
        self.snooze(until)
        return until

    def snooze_until_tomorrow(self) -> float:
        """Until the next day start (day_start_hour), not midnight."""
        until = r.next_day_start(self._clock(), self._tz, self._cfg.day_start_hour)
        self.snooze(until)
        return until

    def not_today(self) -> float:
        """Like snooze_until_tomorrow, but nothing from today is replayed tomorrow."""
        until = self.snooze_until_tomorrow()
        self._mem.snooze_replay = False
        self._mem.pending = None
        return until

    def cancel_snooze(self) -> None:
        self._mem.snooze_until = None
        self._mem.snooze_replay = True

    def is_quiet(self, ts: float | None = None) -> bool:
        cfg = self._cfg
        now = self._clock() if ts is None else ts
        return cfg.quiet_enabled and r.in_quiet_hours(now, self._tz, cfg.quiet_start, cfg.quiet_end)

    # --- sessions and held reminders ----------------------------------------------------------

    def reset_session(self, session_id: str | int) -> None:
        """Forget what was said about a session (e.g. the monitor reuses its id for a new run)."""
        self._mem.said.pop(f"session:{session_id}", None)
        pending = self._mem.pending
        if pending is not None and pending.scope == f"session:{session_id}":
            self._mem.pending = None

    def held(self) -> list[Reminder]:
        """Reminders a veto held back, oldest first: the tray menu lists them."""
        return list(self._mem.held)

    def hold(self, reminder: Reminder, reason: str) -> None:
        """The desktop held back a reminder at display time: keep it for the tray menu."""
        reminder.delivery = f"held:{reason}"
        if all(r.id != reminder.id for r in self._mem.held):
            self._mem.held.append(reminder)

    def release(self, reminder_id: str) -> Reminder | None:
        """The UI has shown (or the user dismissed) a held reminder: stop keeping it."""
        for i, reminder in enumerate(self._mem.held):
            if reminder.id == reminder_id:
                return self._mem.held.pop(i)
        return None

    # --- the state machine --------------------------------------------------------------------

    def evaluate(self, state: r.ActivityState) -> list[Reminder]:
        now = self._clock()
        held_s = self._track_power(state, now)
        cfg, mem = self._cfg, self._mem
        if not cfg.enabled:
            return []
        scopes = r.Scopes(
            session=f"session:{state.session_id}" if state.session_id is not None else None,
            day=r.day_key(now, self._tz, cfg.day_start_hour),
            period=(
                r.period_key(now, self._tz, cfg.day_start_hour, cfg.budget_period)
                if cfg.budget_period != "off" and cfg.budget_wh
                else None
            ),
            idle=r.idle_key(state.idle_waste),
        )
        self._forget_old(scopes, now)
        due = r.due_triggers(state, cfg, scopes, mem.said, held_s)

        silence = self._silence(now)
        if silence is not None:
            for dropped in due:
                self._mark(dropped)  # dropped: no burst of stale reminders later
            if due and (silence == "quiet" or mem.snooze_replay):
                mem.pending = due[0]  # the latest one gets a second chance when silence ends
            return []
        if self._cooling(now):
            return []  # never existed: the rule stays unsaid
        trigger: r.Trigger | None = None
        if mem.pending is not None:
            pending, mem.pending = mem.pending, None
            if r.still_due(pending, state, cfg, scopes, held_s):
                trigger = pending
        if trigger is None and due:
            trigger = due[0]
            self._mark(trigger)
        if trigger is None:
            return []
        reminder = self._make(trigger, state, held_s, now, scopes.session or scopes.day)
        mem.last_reminder_ts = now
        self._apply_vetoes(reminder)
        return [reminder]

    def _track_power(self, state: r.ActivityState, now: float) -> float:
        """Seconds the GPU has been held at/above the configured % of its power limit."""
        pct, limit = state.gpu_power_pct_of_limit, self._cfg.power_limit_pct
        gap = self._power_seen is not None and not 0 <= now - self._power_seen <= POWER_MAX_GAP_S
        self._power_seen = now
        if limit is None:
            self._power_since = self._power_last_above = None
        elif pct is not None and pct >= limit:
            if self._power_since is None or gap:
                self._power_since = now
            self._power_last_above = now
        elif self._power_since is not None and (
            gap or now - (self._power_last_above or now) > POWER_DIP_GRACE_S
        ):
            self._power_since = self._power_last_above = None
        if self._power_since is None or self._power_last_above is None:
            return 0.0
        return self._power_last_above - self._power_since

    def _silence(self, now: float) -> str | None:
        mem = self._mem
        if mem.snooze_until is not None:
            if now < mem.snooze_until:
                return "snooze"
            mem.snooze_until, mem.snooze_replay = None, True
        return "quiet" if self.is_quiet(now) else None

    def _cooling(self, now: float) -> bool:
        last = self._mem.last_reminder_ts
        if last is None:
            return False
        if (
            now < last
        ):  # the clock went back: restart the cooldown rather than fall silent for hours
            self._mem.last_reminder_ts = now
            return self._cfg.cooldown_s > 0
        return now - last < self._cfg.cooldown_s

    def _mark(self, trigger: r.Trigger) -> None:
        said = self._mem.said.pop(trigger.scope, {})  # re-inserted last: most recent session
        said[trigger.rule] = max(said.get(trigger.rule, r.SAID_NOTHING), trigger.level)
        rule = r.RULE_BY_ID.get(trigger.rule)
        for moot in rule.supersedes if rule else ():  # no stale "80 %" once 100 % has been said
            said[moot] = max(said.get(moot, r.SAID_NOTHING), r.SAID_FIRST)
        self._mem.said[trigger.scope] = said

    def _forget_old(self, scopes: r.Scopes, now: float) -> None:
        mem = self._mem
        keep = {scopes.day, scopes.period, scopes.idle}
        sessions = [k for k in mem.said if k.startswith("session:")]
        drop = [k for k in mem.said if not k.startswith("session:") and k not in keep]
        drop += sessions[:-MAX_SESSIONS_REMEMBERED]
        for key in drop:
            del mem.said[key]
        mem.held = [h for h in mem.held if 0 <= now - h.ts <= HELD_MAX_AGE_S]

    def _make(
        self, trigger: r.Trigger, state: r.ActivityState, held_s: float, now: float, tip_scope: str
    ) -> Reminder:
        mem = self._mem
        rotation_key = f"{trigger.rule}:{int(trigger.follow_up)}"
        # Grounded tips are remembered beside the rules of their session (or day), as "tip:<key>",
        # so the same "your GPU idled for 40 min" is not repeated under every reminder.
        scope_said = mem.said.setdefault(tip_scope, {})
        used = [k.removeprefix(TIP_PREFIX) for k in scope_said if k.startswith(TIP_PREFIX)]
        wording = render(
            trigger,
            state,
            self._cfg,
            held_s,
            self._seed,
            mem.spoken.get(rotation_key, 0),
            mem.tips_given,
            used,
        )
        mem.spoken[rotation_key] = mem.spoken.get(rotation_key, 0) + 1
        if wording.tip_key.startswith("generic:"):
            mem.tips_given += 1
        else:
            scope_said[TIP_PREFIX + wording.tip_key] = 1
        import uuid  # here, not at start-up: uuid pulls in platform, and most runs never remind

        return Reminder(
            id=str(uuid.uuid4()),
            ts=now,
            rule=trigger.rule,
            follow_up=trigger.follow_up,
            session_id=state.session_id,
            values=wording.values,
            title=wording.title,
            body=wording.body,
            tip=wording.tip,
        )

    def _apply_vetoes(self, reminder: Reminder) -> None:
        for veto in list(self._vetoes):
            try:
                reason = veto(reminder)
            except Exception:  # a broken hook must not lose the reminder
                log.exception("reminder veto hook %r failed; ignoring it", veto)
                continue
            if reason:
                reminder.delivery = f"held:{reason}"
                self._mem.held.append(reminder)
                return

    # --- persistence ------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        mem = self._mem
        return {
            "version": STATE_VERSION,
            "said": {scope: dict(rules) for scope, rules in mem.said.items()},
            "last_reminder_ts": mem.last_reminder_ts,
            "snooze_until": mem.snooze_until,
            "snooze_replay": mem.snooze_replay,
            "pending": _trigger_to_dict(mem.pending) if mem.pending else None,
            "spoken": dict(mem.spoken),
            "tips_given": mem.tips_given,
            "held": [h.to_dict() for h in mem.held],
        }

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        settings: Settings,
        clock: Callable[[], float] = time.time,
        tz: tzinfo | None = None,
        *,
        seed: int = 0,
    ) -> ReminderEngine:
        """An engine that remembers what `data` (from to_dict) says. Bad parts are ignored."""
        engine = cls(settings, clock, tz, seed=seed)
        engine._mem = _memory_from(data)
        return engine


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _memory_from(data: Any) -> _Memory:
    mem = _Memory()
    if not isinstance(data, Mapping) or data.get("version") != STATE_VERSION:
        return mem
    said = data.get("said")
    if isinstance(said, Mapping):
        mem.said = {
            str(scope): {str(k): int(v) for k, v in rules.items() if isinstance(v, int)}
            for scope, rules in said.items()
            if isinstance(rules, Mapping)
        }
    mem.last_reminder_ts = _number(data.get("last_reminder_ts"))
    mem.snooze_until = _number(data.get("snooze_until"))
    mem.snooze_replay = data.get("snooze_replay") is not False
    spoken = data.get("spoken")
    if isinstance(spoken, Mapping):
        mem.spoken = {str(k): v for k, v in spoken.items() if isinstance(v, int)}
    tips_given = data.get("tips_given")
    mem.tips_given = tips_given if isinstance(tips_given, int) else 0
    try:
        pending = data.get("pending")
        mem.pending = r.Trigger(**pending) if isinstance(pending, Mapping) else None
        mem.held = [Reminder.from_dict(h) for h in data.get("held") or () if isinstance(h, Mapping)]
    except TypeError:  # a field missing or unknown: lose the pending/held list, keep the rest
        mem.pending, mem.held = None, []
    return mem


# --- the state file -----------------------------------------------------------------------------


def default_state_path() -> Path:
    from tray_app.system.paths import data_dir

    return data_dir() / STATE_FILE


def load_engine(
    path: Path,
    settings: Settings,
    clock: Callable[[], float] = time.time,
    tz: tzinfo | None = None,
) -> tuple[ReminderEngine, str | None]:
    """The engine with its memory from `path`; a missing file is a fresh start, a broken one is
    set aside (as *.corrupt) and reported in the returned message, never raised."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ReminderEngine(settings, clock, tz), None
    except OSError as exc:
        return ReminderEngine(settings, clock, tz), _(
            "Could not read the reminder memory {path} ({error}). Reminders start afresh; check the file's permissions."
        ).format(path=path, error=exc.strerror or exc)
    try:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
    except ValueError as exc:
        from tray_app.system.atomic import set_aside

        aside = set_aside(path)
        return ReminderEngine(settings, clock, tz), _(
            "The reminder memory {path} was damaged ({error}) and was set aside as {aside}. Reminders start afresh; you can delete that file."
        ).format(path=path, error=exc, aside=aside)
    return ReminderEngine.from_dict(data, settings, clock, tz), None


def save_engine(engine: ReminderEngine, path: Path) -> str | None:
    """Write atomically and privately; returns a message for the user on failure."""
    from tray_app.system.atomic import atomic_write

    try:
        atomic_write(path, json.dumps(engine.to_dict(), ensure_ascii=False))
    except OSError as exc:
        return _("Could not save the reminder memory to {path} ({error}).").format(
            path=path, error=exc.strerror or exc
        )
    return None

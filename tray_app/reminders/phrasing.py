"""What a reminder says: the measured fact, what it amounts to, and one practical tip.

Several wordings per rule, picked from a seeded rotation so two reminders in a row never read the
same and tests can predict which one comes. Every string goes through `_()` at render time (the
catalogues are functions, not module constants, so a language change applies at once); French
lives in resources/i18n/fr/reminders.json. Tone: kind, a wink, never preachy.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import TypeVar

from tray_app.reminders import rules as r
from tray_app.reminders.equivalents import (
    equivalents,
    fmt_duration,
    fmt_energy,
    fmt_number,
    fmt_power,
)
from tray_app.system import fmt
from tray_app.system.i18n import _, ngettext

T = TypeVar("T")
Pair = tuple[str, str]  # (title, fact sentence)


def pick(options: Sequence[T], seed: int, key: str, count: int) -> T:
    """The `count`-th item of a rotation that starts at a seed-dependent place per key."""
    start = zlib.crc32(f"{seed}:{key}".encode())  # stable across runs, unlike hash()
    return options[(start + count) % len(options)]


def _session_energy_first() -> tuple[Pair, ...]:
    return (
        (_("Quick energy check"), _("This session has drawn {energy} so far.")),
        (
            _("{energy} and counting"),
            _(
                "Your generation session just went past {energy}. Nothing alarming, just so you know."
            ),
        ),
        (
            _("A word from your GPU"),
            _(
                "Your GPU has put {energy} into this session already. It's happy to carry on, but it wanted you to know."
            ),
        ),
    )


def _daily_energy_first() -> tuple[Pair, ...]:
    return (
        (_("Today so far"), _("Your image generation has used {energy} since the day began.")),
        (
            _("{energy} today"),
            _("That's what today's generations have drawn so far. A milestone, not a verdict."),
        ),
        (
            _("Daily milestone"),
            _(
                "You've passed {energy} of generation today. Il faut savoir raison garder, as the French say."
            ),
        ),
    )


def _continuous_first() -> tuple[Pair, ...]:
    return (
        (
            _("Time to stretch?"),
            _("You've been generating for {duration} without a real break."),
        ),
        (
            _("{duration} non-stop"),
            _(
                "The GPU has been busy for {duration} straight. A ten-minute pause would do you both good."
            ),
        ),
        (
            _("A pause, perhaps?"),
            _(
                "{duration} of continuous generation. Your prompts will still be there after a coffee."
            ),
        ),
    )


def _images_first() -> tuple[Pair, ...]:
    return (
        (
            _("{images} this session"),
            _(
                "This session has produced {images}, {energy} in all (about {per_image} per image on average)."
            ),
        ),
        (
            _("Quite a gallery"),
            _("{images} so far this session, for {energy}. Found the one yet?"),
        ),
        (
            _("Image count"),
            _("You've generated {images} in this session: about {per_image} per image on average."),
        ),
    )


def _power_limit_first() -> tuple[Pair, ...]:
    return (
        (
            _("Your GPU is working hard"),
            _(
                "Your GPU has run at {limit_pct}% of its power limit or more for {duration} in a row."
            ),
        ),
        (
            _("Running near the limit"),
            _("{duration} close to its power limit: your GPU is giving it everything it has."),
        ),
        (
            _("Full throttle"),
            _(
                "The GPU has stayed above {limit_pct}% of its power limit for {duration}. It's built for it, but the electricity meter notices too."
            ),
        ),
    )


def _budget_80_first() -> tuple[Pair, ...]:
    return (
        (
            _("{pct}% of the budget used"),
            _("You've used {energy} of your {budget} budget {period}."),
        ),
        (
            _("Budget check"),
            _("{pct}% of your energy budget is used {period} ({energy} of {budget})."),
        ),
        (
            _("Heads-up on the budget"),
            _("{energy} of {budget} {period}: there's still room, spend it on what matters."),
        ),
    )


def _budget_100_first() -> tuple[Pair, ...]:
    return (
        (
            _("Budget reached"),
            _(
                "You've reached your {budget} energy budget ({energy} used {period}). Your call from here, no judgement."
            ),
        ),
        (
            _("That's the budget"),
            _(
                "{energy} used {period}, for a budget of {budget}. Il faut savoir raison garder… or raise the budget: it's yours to set."
            ),
        ),
        (
            _("Budget spent"),
            _(
                "{energy} of {budget} {period}: your energy budget is spent. Nothing breaks, it's only a marker you chose."
            ),
        ),
    )


def _session_energy_follow_up() -> tuple[Pair, ...]:
    return (
        (
            _("Still going strong"),
            _(
                "This session has now reached {energy}, twice the mark you set. Time to pick your favourites?"
            ),
        ),
        (
            _("Twice the mark"),
            _("{energy} for this session, double your threshold. No rush, just a gentle nudge."),
        ),
        (
            _("One last word"),
            _("{energy} so far in this session. That's the last you'll hear from me about it."),
        ),
    )


def _daily_energy_follow_up() -> tuple[Pair, ...]:
    return (
        (
            _("A busy day"),
            _(
                "Today's generations have reached {energy}, twice your daily mark. A good moment for a pause?"
            ),
        ),
        (
            _("Double the daily mark"),
            _("{energy} today. You know where you stand; I won't bring up today's total again."),
        ),
        (
            _("Still creating?"),
            _("{energy} of generation today. Great things take time, and a few breaks."),
        ),
    )


def _continuous_follow_up() -> tuple[Pair, ...]:
    return (
        (
            _("Still at it"),
            _("{duration} without a pause now. Your eyes and your GPU would welcome a short rest."),
        ),
        (
            _("Marathon mode"),
            _("{duration} of generation in a row. Even marathon runners stop for water."),
        ),
        (
            _("Gentle reminder"),
            _("It's been {duration} non-stop. Last nudge about it, promise."),
        ),
    )


def _images_follow_up() -> tuple[Pair, ...]:
    return (
        (
            _("The gallery keeps growing"),
            _("{images} now, twice your mark. Why not sort the best ones before the next batch?"),
        ),
        (
            _("Twice the images"),
            _("{images} this session ({energy}). That's my last word on it."),
        ),
        (
            _("So many images"),
            _("{images} and counting. Picking favourites now could spare a few batches."),
        ),
    )


def _power_limit_follow_up() -> tuple[Pair, ...]:
    return (
        (
            _("Still at full power"),
            _("{duration} near the power limit now. A short pause would let it cool down."),
        ),
        (
            _("Long stretch at full power"),
            _(
                "Your GPU has held {limit_pct}% of its limit or more for {duration}. Last mention, promise."
            ),
        ),
        (
            _("Hot streak"),
            _("{duration} at full power and still going. Nothing wrong, just worth knowing."),
        ),
    )


def _images_without_energy(follow_up: bool) -> Pair:
    # The image count is known but the energy is not: say only what we know.
    if follow_up:
        return _("Twice the images"), _("{images} this session now, twice your mark.")
    return _("Image count"), _("This session has produced {images}.")


def generic_tips() -> tuple[str, ...]:
    return (
        _("Tip: fewer sampling steps often look just as good. Try 20 instead of 40 and compare."),
        _("Tip: explore with small previews, then render only your picks at full size."),
        _("Tip: batch the final renders together rather than one at a time."),
        _("Tip: keep the upscaler for the end, once you've picked the images that deserve it."),
        _("Tip: let the GPU rest between ideas: an idle card with no model loaded draws far less."),
        _("Tip: lower the batch size while exploring, and raise it again for the keepers."),
        _(
            "Tip: a fixed seed lets you change one setting at a time instead of rolling the dice again."
        ),
        # AI Energy Score (Hugging Face, H100): SDXL-Turbo 0.39 Wh/image vs SDXL 1.64 Wh/image.
        _(
            "Tip: for drafts, try a distilled model: on an H100, SDXL-Turbo used about a quarter of SDXL's energy per image (AI Energy Score)."
        ),
        _(
            "Tip: close the tool when you're done: it frees the GPU memory and lets the card idle properly."
        ),
    )


def _idle_model_tip(state: r.ActivityState) -> tuple[str, str] | None:
    idle_wh, idle_min = state.session_idle_wh, state.idle_minutes_with_model
    if idle_wh is not None and idle_min and idle_wh >= 5 and idle_min >= 10:
        watts = idle_wh / (idle_min / 60)
        return "idle_model", _(
            "Your GPU drew {power} for {duration} while the tool sat idle with a model loaded ({energy}): closing it or unloading the model saves that."
        ).format(
            power=fmt_power(watts), duration=fmt_duration(idle_min * 60), energy=fmt_energy(idle_wh)
        )
    return None


def _idle_waste_first() -> tuple[Pair, ...]:
    return (
        (
            _("{tool} is holding the GPU"),
            _(
                "{tool} has sat idle for {duration} with {memory} in GPU memory: the card draws {watts} more than at rest, about {daily} a day if left."
            ),
        ),
        (
            _("A model left loaded"),
            _(
                "{tool} has done nothing for {duration} but keeps {memory} loaded: {watts} above the GPU's rest, about {daily} a day. Freeing it takes one click."
            ),
        ),
        (
            _("Idle, but not at rest"),
            _(
                "{tool} has waited {duration} for a prompt while holding {memory}: your GPU stays {watts} above its rest, about {daily} a day if it waits on."
            ),
        ),
    )


def _idle_waste_tip(state: r.ActivityState) -> tuple[str, str] | None:
    return "free_memory", _(
        "Tip: freeing the memory does not close the tool; the next image just takes a few seconds longer to start, while the model loads again."
    )


def _idle_fields(waste: object) -> dict[str, str]:
    """{tool}, {memory}, {watts}, {daily} of an idle.waste.IdleWaste (empty without one)."""
    if waste is None:  # not an idle-waste reminder: words that still read well
        return {"tool": _("Your image tool"), "memory": _("its model"), "watts": "", "daily": ""}
    from tray_app.idle.release import gigabytes

    mb = getattr(waste, "holding_mb", None)
    day_wh = waste.kwh_per_day * 1000.0  # type: ignore[attr-defined]
    daily = (
        fmt.with_unit(fmt_number(day_wh / 1000, 1), "kWh")
        if round(day_wh) >= 1000
        else fmt_energy(day_wh)
    )
    return {
        "tool": str(waste.label),  # type: ignore[attr-defined]
        "memory": gigabytes(mb) if mb is not None else _("its model"),
        "watts": fmt_power(waste.extra_w),  # type: ignore[attr-defined]
        "daily": daily,
    }


def _power_cap_tip(state: r.ActivityState) -> tuple[str, str] | None:
    return "power_cap", _(
        "Tip: lowering the GPU's power limit a little (to 80%, say) often costs only a few percent of speed for a clearly smaller draw."
    )


def _per_image_tip(state: r.ActivityState) -> tuple[str, str] | None:
    if state.session_images and state.session_wh:
        per_image = state.session_wh / state.session_images
        if per_image >= 0.5:
            return "per_image", _(
                "At about {per_image} per image, drafting small and keeping full size for the picks adds up quickly."
            ).format(per_image=fmt_energy(per_image))
    return None


@dataclass(frozen=True, slots=True)
class RuleWording:
    """What one rule of `rules.RULES` says. Text fields: {value} (the rule's measured value in
    its unit: "120 Wh", "1 h 5 min", "42"), {energy} (of the rule's scope: session, day or budget
    period), {duration} (the measured time for rules counted in minutes, else the continuous
    generation time), {images}, {per_image}, {pct}, {limit_pct}, {budget}, {period}."""

    first: Callable[[], tuple[Pair, ...]]  # (title, fact) options, rotated
    follow_up: Callable[[], tuple[Pair, ...]] | None = None  # softer, each the last word on it
    # Said instead when the energy of the rule's scope is unknown (follow_up) -> (title, fact).
    unknown_energy: Callable[[bool], Pair] | None = None
    tip: Callable[[r.ActivityState], tuple[str, str] | None] | None = None  # (key, text)


WORDINGS: dict[str, RuleWording] = {
    r.BUDGET_100: RuleWording(_budget_100_first),
    r.BUDGET_80: RuleWording(_budget_80_first),
    r.POWER_LIMIT: RuleWording(_power_limit_first, _power_limit_follow_up, tip=_power_cap_tip),
    r.IDLE_WASTE: RuleWording(_idle_waste_first, tip=_idle_waste_tip),
    r.DAILY_ENERGY: RuleWording(_daily_energy_first, _daily_energy_follow_up),
    r.SESSION_ENERGY: RuleWording(_session_energy_first, _session_energy_follow_up),
    r.CONTINUOUS: RuleWording(_continuous_first, _continuous_follow_up),
    r.IMAGES: RuleWording(
        _images_first, _images_follow_up, _images_without_energy, tip=_per_image_tip
    ),
}


def _steps_tip(state: r.ActivityState) -> tuple[str, str] | None:
    """The user's own images, same model and size, compared by steps."""
    c = state.generation_contrast
    return None if c is None else (c.key, steps_tip(c))


def steps_tip(c: object) -> str:
    """The sentence for a sessions.generation_tips.StepsContrast (History shows it too)."""
    from tray_app.images.models import LABELS

    def per_image(wh: float) -> str:
        return fmt.with_unit(fmt_number(wh, 2 if wh < 1 else 1), "Wh")

    return _(
        "Tip from your own images: your {high}-step {model} images cost {wh_high} each, your "
        "{low}-step ones {wh_low}. If the fewer steps look as good to you, that is the saving."
    ).format(
        high=c.steps_high,  # type: ignore[attr-defined]
        low=c.steps_low,  # type: ignore[attr-defined]
        model=LABELS.get(c.family, c.family),  # type: ignore[attr-defined]
        wh_high=per_image(c.wh_high),  # type: ignore[attr-defined]
        wh_low=per_image(c.wh_low),  # type: ignore[attr-defined]
    )


def grounded_tips(rule: str, state: r.ActivityState) -> list[tuple[str, str]]:
    """Tips built on the user's own numbers, as (key, text), most relevant first."""
    tips: list[tuple[str, str] | None] = []
    if rule != r.IDLE_WASTE:
        tips.append(_idle_model_tip(state))
    if rule not in (r.IDLE_WASTE, r.POWER_LIMIT):  # about energy spent: which setting costs
        tips.append(_steps_tip(state))
    wording = WORDINGS.get(rule)
    if wording and wording.tip:
        tips.append(wording.tip(state))
    return [t for t in tips if t is not None]


def grounded_tip(rule: str, state: r.ActivityState) -> tuple[str, str] | None:
    """A tip built on this session's own numbers, as (key, text), when one applies."""
    tips = grounded_tips(rule, state)
    return tips[0] if tips else None


def _in_unit(value: float | None, unit: str, estimated: bool) -> str:
    if value is None:
        return ""
    if unit == "Wh":
        return fmt_energy(value, estimated)
    if unit == r.MINUTES:
        return fmt_duration(value * 60)
    return fmt_number(value)


def _scope_energy(rule: r.Rule, state: r.ActivityState) -> float | None:
    if rule.scope == "idle":
        return None  # about a draw, said per day: no session energy to weigh
    if rule.scope == "period":
        return state.period_wh
    if rule.scope == "day":
        return state.today_wh
    return state.session_wh


@dataclass(frozen=True, slots=True)
class Wording:
    title: str
    body: str
    tip: str
    tip_key: str  # "generic:<n>" or a grounded key ("idle_model", …) the engine remembers
    values: dict[str, float | str | int | None]


def _period_words(period: str) -> str:
    return _("so far this week") if period == "week" else _("so far today")


def render(
    trigger: r.Trigger,
    state: r.ActivityState,
    cfg: r.ReminderConfig,
    power_held_s: float,
    seed: int,
    spoken: int,
    tips_given: int,
    grounded_used: Collection[str] = (),
) -> Wording:
    """The final, localised text of a reminder. `spoken`/`tips_given` advance the rotations;
    `grounded_used` lists the data-grounded tips already given (each is said once per session)."""
    est = state.energy_estimated
    rule, wording = r.RULE_BY_ID[trigger.rule], WORDINGS[trigger.rule]
    energy_wh = _scope_energy(rule, state)
    # A fact counted in minutes is about time: {duration} is the rule's measured time.
    measured = rule.measure(r.Reading(state, cfg, power_held_s))
    about_time = rule.unit == r.MINUTES
    duration_s = (measured or 0.0) * 60 if about_time else state.continuous_active_s
    per_image = (
        state.session_wh / state.session_images
        if state.session_wh is not None and state.session_images
        else None
    )
    values: dict[str, float | str | int | None] = {
        "value": round(trigger.value, 3),
        "threshold": trigger.threshold,
        "session_wh": state.session_wh,
        "today_wh": state.today_wh,
        "period_wh": state.period_wh,
        "continuous_min": round(state.continuous_active_s / 60, 1),
        "session_images": state.session_images,
        "gpu_power_pct_of_limit": state.gpu_power_pct_of_limit,
        "power_held_min": round(power_held_s / 60, 1),
        "session_active_min": round(state.session_active_s / 60, 1),
        "tool": state.tool,
        "energy_estimated": int(est),
    }
    if rule.scope == "period":
        values.update(budget_wh=cfg.budget_wh, budget_period=cfg.budget_period)
    waste = state.idle_waste if rule.scope == "idle" else None
    if waste is not None:
        # The tool to free when the user says so, and the figures the reminder was based on.
        values.update(idle_tool=waste.tool, idle_pid=waste.pid, holding_mb=waste.holding_mb,
                      power_w=round(waste.power_w, 1), floor_w=round(waste.floor_w, 1))
    fields = {
        "energy": fmt_energy(energy_wh, est) if energy_wh is not None else "",
        "duration": fmt_duration(duration_s),
        "images": ngettext("{n} image", "{n} images", state.session_images or 0).format(
            n=fmt_number(state.session_images or 0)
        ),
        "per_image": fmt_energy(per_image, est) if per_image is not None else "",
        "value": _in_unit(measured, rule.unit, est),  # the rule's own figure, now
        "pct": fmt_number(trigger.value),  # used by the budget rules: % of the budget
        "limit_pct": fmt_number(cfg.power_limit_pct or 0),
        "budget": fmt_energy(cfg.budget_wh or 0),
        "period": _period_words(cfg.budget_period),
        **_idle_fields(waste),
    }
    if energy_wh is None and wording.unknown_energy is not None:
        title, fact = wording.unknown_energy(trigger.follow_up)
    else:
        options = (wording.follow_up or wording.first)() if trigger.follow_up else wording.first()
        title, fact = pick(options, seed, f"{trigger.rule}:{int(trigger.follow_up)}", spoken)
    body = fact.format(**fields)
    if energy_wh is not None and energy_wh > 0:
        eq = equivalents(
            energy_wh, cfg.phone_charge_wh, cfg.carbon_g_per_kwh, cfg.price_per_kwh, cfg.currency
        )
        values.update(eq.values)
        if about_time:
            # The fact was about time, so say which energy the equivalents refer to.
            tangible = _("This session has drawn {energy} so far, that's {equivalents}.")
        else:
            tangible = _("That's {equivalents}.")
        body += " " + tangible.format(energy=fields["energy"], equivalents=eq.text)
    grounded = next((t for t in grounded_tips(trigger.rule, state) if t[0] not in grounded_used), None)
    if grounded:
        tip_key, tip = grounded
    else:
        tips = generic_tips()
        n = (zlib.crc32(f"{seed}:tips".encode()) + tips_given) % len(tips)
        tip_key, tip = f"generic:{n}", tips[n]
    return Wording(title.format(**fields), body, tip, tip_key, values)

"""The appointment form's turn: what the message says (bot/appointment_form.py) applied to the
form, the appointment service asked what is free, and the next question, a refusal or the
booking. Runs in the model worker, as the corpus search does; the replies are rendered by
bot/appointment_replies.py. The service's calls are the only I/O.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.appointment_form import (
    AppointmentForm,
    Said,
    apply,
    looks_like_question,
    name_answer,
    opens,
    read,
)
from runtime.language import to_simplified
from services.appointments import (
    Applicant,
    AppointmentError,
    Appointments,
    Assisted,
    Booking,
    BookingRequest,
    DayCheck,
    Ownership,
    RescheduleRequest,
    Schedule,
    Slot,
)
from services.offices import Lang, Office, OfficeBook, load_offices, place_key

OPEN_DAYS = 5  # the dates offered as buttons


@dataclass(frozen=True)
class Note:
    """A line said before the question: a refused day, a full slot, a booking not found."""

    key: str
    day: DayCheck | None = None
    value: str | None = None


@dataclass(frozen=True)
class Step:
    """One reply of the form. ``kind`` is the reply's meta.kind: appointment_ask (``asks`` the
    field, with ``dates`` / ``slots`` / ``offices`` to offer), appointment_booked,
    appointment_rescheduled, appointment_cancelled (a booking), appointment_left (the form
    cancelled), appointment_failed (a booking not found)."""

    kind: str
    form: AppointmentForm | None
    asks: str | None = None
    notes: tuple[Note, ...] = ()
    dates: tuple[dt.date, ...] = ()
    slots: tuple[Slot, ...] = ()
    offices: tuple[Office, ...] = ()
    booking: Booking | None = None


@dataclass(frozen=True)
class FlowTurn:
    step: Step
    midway: bool = False  # a question asked midway: answer it first, then `step` asks again
    booked: dict[str, str] = field(default_factory=dict)  # references made here → passport


class AppointmentFlow:
    def __init__(self, service: Appointments, today: Callable[[], dt.date],
                 book: OfficeBook | None = None) -> None:
        self.service, self.today = service, today
        self.book = book or load_offices()

    def turn(self, form: AppointmentForm | None, text: str, menu_choice: bool,
             booked_here: dict[str, str], elsewhere: bool = False) -> FlowTurn | None:
        """None: the message is not for the form (and does not open one). ``elsewhere``: the
        message asks for something else (a person, a complaint) unless it fills the form."""
        opened = AppointmentForm() if menu_choice else opens(text, self.today())
        if opened is not None and (form is None or opened.reference or menu_choice):
            form, fresh = opened, True
        elif form is None:
            return None
        else:
            fresh = False
        said = read(text, form, self.today(), self.book)
        if not fresh and said.cancel:
            return FlowTurn(Step("appointment_left", None, notes=(Note("left"),)))
        # "what documents do I need to extend my visa?" names a service but asks a question.
        asks = looks_like_question(text) and not said.fills(besides_service=True)
        if not fresh and (asks or elsewhere or not self._answers(form, said, text)):
            if asks or elsewhere:
                return FlowTurn(self._advance(form, Said()), midway=True)
            return FlowTurn(self._advance(form, said, (Note("not_understood"),)))
        form = apply(form, said)
        if form.passport is None and form.reference in booked_here:
            form = form.model_copy(update={"passport": booked_here[form.reference]})
        step = self._advance(form, said)
        booked = {}
        if step.booking is not None and step.kind == "appointment_booked":
            booked[step.booking.reference] = form.passport or ""
        return FlowTurn(step, booked=booked)

    def _answers(self, form: AppointmentForm, said: Said, text: str) -> bool:
        """Whether the message answers or corrects the form (else it is a question of its own,
        or something the form cannot use)."""
        if said.fills() or (said.confirm and form.asked == "confirm"):
            return True
        if form.asked in ("name", "helper"):
            return name_answer(said) is not None and not looks_like_question(text)
        if form.asked == "office":
            return self._office_named(form, text) is not None
        return False

    # The next question ----------------------------------------------------------------------

    def _advance(self, form: AppointmentForm, said: Said, notes: tuple[Note, ...] = ()) -> Step:
        if form.mode != "book":
            return self._change(form, said, notes)
        if form.service is None:
            return self._ask(form, "service", notes)
        if form.office_id is None:
            form, step = self._office(form, said, notes)
            if step is not None:
                return step
        return self._when(form, said, notes) or self._who(form, said, notes)

    def _office(self, form: AppointmentForm, said: Said, notes: tuple[Note, ...]
                ) -> tuple[AppointmentForm, Step | None]:
        if form.asked == "office" and said.free_text:
            office = self._office_named(form, said.free_text)
            if office is not None:
                return form.model_copy(update={"office_id": office.id}), None
        if form.city is None:
            if form.asked == "city" and said.free_text and not said.fills():
                notes += (Note("no_office", value=said.free_text),)
            return form, self._ask(form, "city", notes)
        offices = self.book.find(form.city)
        if not offices:
            notes += (Note("no_office", value=form.city),)
            return form, self._ask(form.model_copy(update={"city": None}), "city", notes)
        if len(offices) == 1:
            return form.model_copy(update={"office_id": offices[0].id}), None
        return form, self._ask(form, "office", notes, offices=offices)

    def _office_named(self, form: AppointmentForm, text: str) -> Office | None:
        """The office a reply names: a button's full name, or enough of it ("上海市出入境管理局"
        for "上海市公安局出入境管理局" is not, "permanent residence service centre" is)."""
        wanted = to_simplified(text).strip().lower().rstrip("。.!！")
        if len(wanted) < 4:
            return None
        for office in self.book.find(form.city or ""):
            names = (to_simplified(office.name.zh).lower(), office.name.en.lower())
            if any(wanted == name or wanted in name for name in names):
                return office
        return None

    def _when(self, form: AppointmentForm, said: Said, notes: tuple[Note, ...]) -> Step | None:
        """The date and the time slot, checked against the calendar and the free seats."""
        office = form.office_id
        assert office is not None
        if form.date is None:
            return self._ask(form, "date", notes, dates=self.service.open_days(office, OPEN_DAYS))
        day = self.service.availability(office, form.date)
        if not day.day.bookable:
            notes += (Note("day_refused", day=day.day),)
            return self._ask(form.model_copy(update={"date": None, "time": None}), "date",
                             notes, dates=self.service.open_days(office, OPEN_DAYS))
        free = tuple(s for s in day.slots if s.free > 0)
        if not free:
            notes += (Note("day_full", day=day.day),)
            return self._ask(form.model_copy(update={"date": None, "time": None}), "date",
                             notes, dates=self.service.open_days(office, OPEN_DAYS))
        if form.time is not None:
            slot = next((s for s in day.slots if s.time == form.time), None)
            if slot is None or slot.free == 0:
                notes += (Note("slot_full" if slot else "no_such_time", value=form.time),)
                form = form.model_copy(update={"time": None})
        if form.time is None:
            return self._ask(form, "time", notes, slots=_in_part(free, form))
        return None

    def _who(self, form: AppointmentForm, said: Said, notes: tuple[Note, ...]) -> Step:
        if form.name is None:
            return self._ask(form, "name", notes)
        if form.passport is None:
            if said.free_text and form.asked == "passport":
                notes += (Note("bad_passport"),)
            return self._ask(form, "passport", notes)
        if form.relationship and form.helper is None:
            return self._ask(form, "helper", notes)
        if not (said.confirm and form.asked == "confirm"):
            return self._ask(form, "confirm", notes)
        return self._book(form, notes)

    def _book(self, form: AppointmentForm, notes: tuple[Note, ...]) -> Step:
        assisted = Assisted(relationship=form.relationship, helper_name=form.helper) \
            if form.relationship and form.helper else None
        assert form.office_id and form.service and form.date and form.time
        try:
            applicant = Applicant(name=form.name or "", passport=form.passport or "",
                                  assisted=assisted)
        except ValueError:
            return self._ask(form.model_copy(update={"passport": None}), "passport",
                             notes + (Note("bad_passport"),))
        try:
            booking = self.service.book(BookingRequest(
                office_id=form.office_id, service=form.service,
                date=form.date, time=form.time, applicant=applicant))
        except AppointmentError as err:
            return self._refused(form, err, notes)
        return Step("appointment_booked", None, notes=notes, booking=booking)

    def _refused(self, form: AppointmentForm, err: AppointmentError,
                 notes: tuple[Note, ...]) -> Step:
        """Between the question and the booking, the slot filled or the day closed."""
        assert form.office_id is not None
        if err.code == "slot_full":
            return self._when(form.model_copy(update={"time": None}), Said(),
                              notes + (Note("slot_full", value=form.time),)) \
                or self._ask(form, "time", notes)
        return self._ask(form.model_copy(update={"date": None, "time": None}), "date",
                         notes + (Note("day_refused", day=err.day),),
                         dates=self.service.open_days(form.office_id, OPEN_DAYS))

    # Reschedule and cancel by reference -----------------------------------------------------

    def _change(self, form: AppointmentForm, said: Said, notes: tuple[Note, ...]) -> Step:
        reference = form.reference
        assert reference is not None
        if form.passport is None:
            return self._ask(form, "passport", notes)
        owner = Ownership(passport=form.passport)
        try:
            if form.mode == "cancel":
                booking = self.service.cancel(reference, owner)
                return Step("appointment_cancelled", None, notes=notes, booking=booking)
            booking = self.service.find(reference, owner)
        except AppointmentError as err:
            known = err.code if err.code == "cancelled" else "not_found"
            return Step("appointment_failed", None, notes=(Note(known, value=form.reference),))
        form = form.model_copy(update={"office_id": booking.office_id,
                                       "service": booking.service})
        step = self._when(form, said, notes)
        if step is not None:
            return step
        assert form.date is not None and form.time is not None
        try:
            moved = self.service.reschedule(reference, RescheduleRequest(
                passport=form.passport, date=form.date, time=form.time))
        except AppointmentError as err:
            return self._refused(form, err, notes)
        return Step("appointment_rescheduled", None, notes=notes, booking=moved)

    def _ask(self, form: AppointmentForm, asks: str, notes: tuple[Note, ...], **offer: object
             ) -> Step:
        return Step("appointment_ask", form.model_copy(update={"asked": asks}), asks=asks,
                    notes=notes, **offer)  # type: ignore[arg-type]

    def bookable_days(self, office_id: str) -> tuple[dt.date, ...]:
        """Every bookable day of the window: the widget's date picker refuses the others."""
        return self.service.open_days(office_id, Schedule().days_ahead)

    def office_name(self, office_id: str | None, lang: Lang) -> str:
        return next((o.name(lang) for o in self.book.offices if o.id == office_id), "")

    def cities(self) -> list[Office]:
        """One office per city, in the records' order: the city buttons."""
        seen: dict[str, Office] = {}
        for office in self.book.offices:
            seen.setdefault(place_key(office.city.zh), office)
        return list(seen.values())


def _in_part(slots: tuple[Slot, ...], form: AppointmentForm) -> tuple[Slot, ...]:
    """The free slots of the part of the day asked for ("改成下午"), else all of them."""
    if form.part is None:
        return slots
    wanted = tuple(s for s in slots if (s.time >= "12:00") == (form.part == "pm"))
    return wanted or slots

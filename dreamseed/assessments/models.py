"""Adaptive tests: the blueprint (Assessment), who takes it when (Assignment, Accommodation),
and each sitting (ExamSession) with its answers (Attempt).

A session's state lives here, not in a process: the pending item is stored on the session, so a
reload, a second tab or another device shows the same item; attempts are unique per session and
position, so a double submit records once.
"""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dreamseed.itembank.kinds import response_display, score_display
from dreamseed.itembank.models import MODEL_MAX_LENGTH, IrtModel


class Estimator(models.TextChoices):
    EAP = "eap", _("EAP (expected a posteriori)")
    MAP = "map", _("MAP (maximum a posteriori)")
    MLE = "mle", _("Maximum likelihood")
    WLE = "wle", _("Weighted likelihood (Warm)")


class ExposureControl(models.TextChoices):
    NONE = "mfi", _("None: always the most informative item")
    RANDOMESQUE = "randomesque", _("Randomesque: pick at random among the best few")
    SYMPSON_HETTER = "sympson-hetter", _("Sympson-Hetter: per-item exposure parameters")


class Assessment(models.Model):
    name = models.CharField(_("name"), max_length=150)
    instructions = models.TextField(_("instructions for students"), blank=True)
    # The item pool: active items matching these filters (empty = any).
    subject = models.CharField(_("subject"), max_length=80, blank=True)
    grade = models.CharField(_("grade"), max_length=20, blank=True)
    content_areas = models.JSONField(_("content areas"), default=list, blank=True)
    irt_model = models.CharField(
        _("IRT model"), max_length=MODEL_MAX_LENGTH, choices=IrtModel.choices, blank=True,
        help_text=_("Only items calibrated with this model; empty for any."),
    )  # fmt: skip
    b_min = models.FloatField(_("lowest difficulty"), null=True, blank=True)
    b_max = models.FloatField(_("highest difficulty"), null=True, blank=True)
    # Scoring and stopping.
    estimator = models.CharField(
        _("estimator"), max_length=4, choices=Estimator.choices, default=Estimator.EAP
    )
    min_items = models.PositiveSmallIntegerField(_("minimum items"), default=5)
    max_items = models.PositiveSmallIntegerField(_("maximum items"), default=20)
    se_target = models.FloatField(
        _("target standard error"), null=True, blank=True,
        help_text=_("Stop when the score is this precise (logits), e.g. 0.3. Empty: fixed length."),
    )  # fmt: skip
    exposure_control = models.CharField(
        _("exposure control"), max_length=16, choices=ExposureControl.choices,
        default=ExposureControl.RANDOMESQUE,
    )  # fmt: skip
    randomesque_k = models.PositiveSmallIntegerField(_("randomesque: choose among"), default=5)
    # {"Algebra": 0.5, "Arithmetic": 0.5}: Kingsbury-Zara content balancing.
    content_targets = models.JSONField(_("content targets"), default=dict, blank=True)
    time_limit_minutes = models.PositiveSmallIntegerField(
        _("time limit (minutes)"), null=True, blank=True
    )
    pilot_rate = models.FloatField(
        _("pilot item rate"), default=0.0,
        help_text=_("Share of extra, unscored pilot items mixed in (0 to 0.5)."),
    )  # fmt: skip
    effort_moderated = models.BooleanField(
        _("leave rapid guesses unscored"), default=False,
        help_text=_(
            "Effort-moderated scoring: an answer given faster than a tenth of the item's mean time "
            "(at most 10 s) is not scored, so a student who rushes a few questions is measured "
            "by the ones they read. Rapid guesses still count toward the test's length."
        ),
    )  # fmt: skip
    # Reporting scale: score = intercept + slope * theta.
    scale_name = models.CharField(_("scale name"), max_length=40, default="Scale score")
    scale_intercept = models.FloatField(_("scale intercept"), default=200.0)
    scale_slope = models.FloatField(_("scale slope"), default=10.0)
    show_results_to_students = models.BooleanField(_("students see their result"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return self.name

    def scale_score(self, theta: float | None) -> float | None:
        if theta is None:
            return None
        return self.scale_intercept + self.scale_slope * theta

    def scale_se(self, se: float | None) -> float | None:
        return None if se is None else abs(self.scale_slope) * se


def score_band(score: float | None, scale_se: float | None) -> tuple[float | None, float | None]:
    """The band of one standard error around a scale score, ``(score - se, score + se)``; both
    ends None when the score or its standard error is unknown."""
    if score is None or scale_se is None:
        return None, None
    return score - scale_se, score + scale_se


class Assignment(models.Model):
    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="assignments")
    school_class = models.ForeignKey(
        "classes.Class", on_delete=models.CASCADE, related_name="assignments"
    )
    opens_at = models.DateTimeField(_("opens"))
    closes_at = models.DateTimeField(_("closes"))
    attempts_allowed = models.PositiveSmallIntegerField(_("attempts allowed"), default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-opens_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(closes_at__gt=models.F("opens_at")), name="assignment_window"
            )
        ]

    def __str__(self) -> str:
        return f"{self.assessment} → {self.school_class}"

    def is_open(self, now=None) -> bool:
        now = now or timezone.now()
        return self.opens_at <= now < self.closes_at


class Accommodation(models.Model):
    # No index of its own: one_accommodation starts with this column.
    assignment = models.ForeignKey(
        Assignment, on_delete=models.CASCADE, related_name="accommodations", db_index=False
    )
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    extra_time_multiplier = models.FloatField(_("time multiplier"), default=1.0)
    extra_attempts = models.PositiveSmallIntegerField(_("extra attempts"), default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["assignment", "student"], name="one_accommodation"),
            models.CheckConstraint(
                condition=models.Q(extra_time_multiplier__gte=1)
                & models.Q(extra_time_multiplier__lte=4),
                name="accommodation_time_multiplier_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.student} × {self.extra_time_multiplier:g}, +{self.extra_attempts}"


class SessionStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", _("In progress")
    PAUSED = "paused", _("Paused")
    COMPLETED = "completed", _("Completed")
    TIMED_OUT = "timed_out", _("Time ran out")


FINISHED_STATUSES = (SessionStatus.COMPLETED, SessionStatus.TIMED_OUT)


class ExamSession(models.Model):
    # Indexes here are few on purpose: every answer updates the row, and PostgreSQL can update
    # in place (HOT, no index writes) only when no indexed column changes. The assignment and
    # student foreign keys are covered by the unique constraint and the (student, status) index.
    assignment = models.ForeignKey(
        Assignment, on_delete=models.CASCADE, related_name="sessions", db_index=False
    )
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="exam_sessions",
        db_index=False,
    )
    attempt_number = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(
        max_length=12, choices=SessionStatus.choices, default=SessionStatus.IN_PROGRESS
    )
    theta = models.FloatField(null=True, blank=True)
    standard_error = models.FloatField(null=True, blank=True)
    score = models.FloatField(null=True, blank=True)  # on the assessment's reporting scale
    n_items = models.PositiveSmallIntegerField(default=0)  # scored items answered
    stop_reason = models.CharField(max_length=20, blank=True)
    # The item on screen now; None once finished.
    pending_item = models.ForeignKey(
        "itembank.Item",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    pending_version = models.ForeignKey(
        "itembank.ItemVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    pending_is_pilot = models.BooleanField(default=False)
    pending_since = models.DateTimeField(null=True, blank=True)
    # Engine decision for the pending item, recorded with the attempt for audit.
    pending_information = models.FloatField(null=True, blank=True)
    pending_candidates = models.PositiveIntegerField(default=0)
    # Sympson-Hetter: items set aside by their exposure lottery, never offered again.
    excluded_item_ids = models.JSONField(default=list, blank=True)
    # The answers so far as [item_id, correct, is_pilot, a, b, c, d], in order: a copy of the
    # Attempt rows kept on the session row itself, so an answer needs no second read. A rapid
    # guess appends 1; a partial-credit answer appends [rapid, score, model, steps] (score None
    # while a teacher marks it; see services.Answered).
    history = models.JSONField(default=list, blank=True)
    # The item bank's revision when the session started: an accepted recalibration changes the
    # parameters of new sessions only (this one keeps scoring with its answers' snapshots).
    bank_revision = models.PositiveBigIntegerField(default=0)
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    deadline_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["assignment", "student", "attempt_number"], name="one_session_per_attempt"
            )
        ]
        indexes = [models.Index(fields=["student", "status"])]

    def __str__(self) -> str:
        return f"{self.student} · {self.assignment.assessment} #{self.attempt_number}"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def duration(self) -> timedelta:
        return (self.ended_at or timezone.now()) - self.started_at

    def seconds_left(self, now=None) -> int | None:
        if self.deadline_at is None:
            return None
        now = self.paused_at or now or timezone.now()
        return max(0, int((self.deadline_at - now).total_seconds()))


class Attempt(models.Model):
    # session and item are covered by the (session, position) constraint and the (item, created)
    # index: no separate indexes for every answer's INSERT to maintain.
    session = models.ForeignKey(
        ExamSession, on_delete=models.CASCADE, related_name="attempts", db_index=False
    )
    position = models.PositiveSmallIntegerField()
    item = models.ForeignKey(
        "itembank.Item", on_delete=models.PROTECT, related_name="attempts", db_index=False
    )
    item_version = models.ForeignKey(
        "itembank.ItemVersion", on_delete=models.PROTECT, related_name="attempts"
    )
    is_pilot = models.BooleanField(default=False)
    # The response as kinds.response_clean keeps it: a key, keys joined by ",", or typed text.
    selected_choice = models.TextField()
    # True only for full credit.
    correct = models.BooleanField()
    # Points (0..the version's max_score; 0 or 1 for right/wrong items); None while a teacher
    # has to mark the answer (rubric items) and for answers never scored.
    score = models.PositiveSmallIntegerField(_("points"), null=True, blank=True)
    # Who gave a rubric item's points, and when (services.attempt_mark). No index: every answer
    # would maintain it, and nothing looks attempts up by their marker.
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", db_index=False,
    )  # fmt: skip
    marked_at = models.DateTimeField(null=True, blank=True)
    response_time_ms = models.PositiveIntegerField(null=True, blank=True)
    # Parameters used to score this answer (an accepted recalibration changes the bank, not
    # sessions already running or finished).
    a = models.FloatField(null=True)
    b = models.FloatField(null=True)
    c = models.FloatField(null=True)
    d = models.FloatField(null=True)
    # The engine's decision, for audit: estimate before the item was chosen, its information
    # there, how many items were eligible, and the estimate after this answer.
    theta_before = models.FloatField(null=True)
    information = models.FloatField(null=True)
    candidates = models.PositiveIntegerField(default=0)
    theta_after = models.FloatField(null=True)
    se_after = models.FloatField(null=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["session", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "position"], name="one_attempt_per_position"
            ),
            models.UniqueConstraint(fields=["session", "item"], name="item_once_per_session"),
        ]
        indexes = [models.Index(fields=["item", "created"])]

    def __str__(self) -> str:
        return f"{self.session_id}#{self.position} {self.item_id}={self.selected_choice}"

    @property
    def response_seconds(self) -> float | None:
        return None if self.response_time_ms is None else self.response_time_ms / 1000

    # Partial credit, for result pages and reports (item_version must be loaded).

    @property
    def max_score(self) -> int:
        return self.item_version.max_score

    @property
    def shows_points(self) -> bool:
        """Shown as points ("2/3") rather than right/wrong."""
        return self.item_version.max_score > 1 or self.item_version.is_teacher_marked

    @property
    def points_display(self) -> str:
        return score_display(self.score, self.item_version.max_score)

    @property
    def awaiting_marking(self) -> bool:
        return self.score is None and self.item_version.is_teacher_marked

    @property
    def response_text(self) -> str:
        """The response in words, for results and reports: True/False, "B, D", "C → A → B", or
        the text as typed (templates escape it)."""
        return response_display(self.item_version, self.selected_choice)

    @property
    def is_unscored(self) -> bool:
        """An answer to an item nobody marks (an extended answer without rubric points)."""
        return not self.item_version.is_scored

"""A school's item bank: items with IRT parameters, and the versions of their content.

An item's *content* (stem, options, key) is versioned: once an item has been used, editing it
creates a new ItemVersion, and every attempt keeps pointing at the version the student saw.
Its *parameters* (a, b, c, d) describe the item on the school's theta scale and change only by
authoring or by an accepted calibration run.
"""

import random
import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F
from django.utils.functional import cached_property
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from dreamseed.itembank.kinds import (
    TRUE_FALSE_KEYS,
    ItemKind,
    answer_display,
    is_scored,
    kind_label,
    max_score,
    response_correct,
    response_score,
    teacher_marked,
    true_false_label,
)
from dreamseed.itembank.sanitize import html_render


class ItemStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PILOT = "pilot", _("Pilot")
    ACTIVE = "active", _("Active")
    RETIRED = "retired", _("Retired")


class IrtModel(models.TextChoices):
    ONE_PL = "1PL", _("1PL (Rasch)")
    TWO_PL = "2PL", _("2PL")
    THREE_PL = "3PL", _("3PL")
    FOUR_PL = "4PL", _("4PL")
    # Partial credit (scores 0..m): step difficulties in Item.steps.
    GPCM = "GPCM", _("Generalized partial credit (GPCM)")
    GRM = "GRM", _("Graded response (GRM)")


POLYTOMOUS_MODELS = (IrtModel.GPCM, IrtModel.GRM)
MODEL_MAX_LENGTH = 4


class Item(models.Model):
    external_id = models.CharField(
        _("external id"),
        max_length=64,
        unique=True,
        help_text=_("Stable id used by import and export; generated when left empty."),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=ItemStatus.choices, default=ItemStatus.DRAFT
    )
    subject = models.CharField(_("subject"), max_length=80, blank=True)
    grade = models.CharField(_("grade"), max_length=20, blank=True)
    content_area = models.CharField(_("content area"), max_length=80, blank=True, db_index=True)
    standards = ArrayField(
        models.CharField(max_length=60), blank=True, default=list, verbose_name=_("standards")
    )
    model = models.CharField(
        _("IRT model"), max_length=MODEL_MAX_LENGTH, choices=IrtModel.choices,
        default=IrtModel.THREE_PL,
    )  # fmt: skip
    a = models.FloatField(_("discrimination (a)"), default=1.0)
    # b is unknown for pilot items until they are calibrated. A GPCM/GRM item's b is its
    # location, the mean of its steps (kept so pool filters and ordering by b work alike).
    b = models.FloatField(_("difficulty (b)"), null=True, blank=True)
    # GPCM step difficulties / GRM category boundaries b_1..b_m of an item scored 0..m;
    # empty for dichotomous items (and for polytomous pilot items not calibrated yet).
    steps = ArrayField(
        models.FloatField(), blank=True, default=list, verbose_name=_("category steps")
    )
    c = models.FloatField(_("guessing (c)"), default=0.0)
    d = models.FloatField(_("upper asymptote (d)"), default=1.0)
    se_a = models.FloatField(null=True, blank=True)
    se_b = models.FloatField(null=True, blank=True)
    se_c = models.FloatField(null=True, blank=True)
    current_version = models.ForeignKey(
        "ItemVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["external_id"]
        indexes = [
            models.Index(fields=["status", "subject", "grade"]),
            models.Index(fields=["b"]),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(a__gt=0), name="item_a_positive"),
            models.CheckConstraint(
                condition=models.Q(c__gte=0) & models.Q(c__lt=1), name="item_c_in_unit_interval"
            ),
            models.CheckConstraint(
                condition=models.Q(d__gt=F("c")) & models.Q(d__lte=1), name="item_d_above_c"
            ),
            models.CheckConstraint(
                condition=models.Q(model__in=POLYTOMOUS_MODELS) | models.Q(steps__len=0),
                name="item_steps_only_polytomous",
            ),
            models.CheckConstraint(
                condition=~models.Q(model__in=POLYTOMOUS_MODELS) | (models.Q(c=0) & models.Q(d=1)),
                name="item_polytomous_no_asymptotes",
            ),
        ]

    def __str__(self) -> str:
        return self.external_id

    def save(self, *args, **kwargs):
        if not self.external_id:
            self.external_id = uuid.uuid4().hex[:12]
        super().save(*args, **kwargs)

    @property
    def is_polytomous(self) -> bool:
        return self.model in POLYTOMOUS_MODELS

    @property
    def parameters(self) -> tuple[float, float, float, float]:
        """[a, b, c, d] as the engine expects (b must be known)."""
        return (self.a, self.b, self.c, self.d)


class ItemVersion(models.Model):
    # No index of its own: item_version_number_unique starts with this column.
    item = models.ForeignKey(
        Item, on_delete=models.CASCADE, related_name="versions", db_index=False
    )
    number = models.PositiveIntegerField()
    # Sanitised HTML (paragraphs, emphasis, lists, images; math as $...$ LaTeX rendered by KaTeX).
    stem = models.TextField(_("stem"))
    # [{"key": "A", "text": "..."}, ...] in display order.
    options = models.JSONField(_("options"), default=list)
    # "single" and "truefalse" items keep their key here; the other kinds keep what marks them
    # in `answer` (see itembank/kinds.py).
    correct_key = models.CharField(_("correct option"), max_length=4, blank=True)
    kind = models.CharField(
        _("item type"), max_length=10, choices=ItemKind.choices, default=ItemKind.SINGLE
    )
    answer = models.JSONField(_("answer"), default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["item", "number"]
        constraints = [
            models.UniqueConstraint(fields=["item", "number"], name="item_version_number_unique")
        ]

    def __str__(self) -> str:
        return f"{self.item.external_id} v{self.number}"

    def is_correct(self, response: str) -> bool:
        """Whether a cleaned response (see kinds.response_clean) is right."""
        return response_correct(self, response)

    @property
    def is_scored(self) -> bool:
        return is_scored(self.kind, self.answer)

    @property
    def max_score(self) -> int:
        """Largest score of a response (1 for right/wrong items, more under partial credit)."""
        return max_score(self.kind, self.answer)

    @property
    def is_teacher_marked(self) -> bool:
        return teacher_marked(self.kind, self.answer)

    def score(self, response: str) -> int | None:
        """Points for a cleaned response; None while a teacher has to mark it."""
        return response_score(self, response)

    @property
    def option_keys(self) -> list[str]:
        if self.kind == ItemKind.TRUE_FALSE:
            return list(TRUE_FALSE_KEYS)
        return [option["key"] for option in self.options]

    @property
    def answer_display(self) -> str:
        return answer_display(self)

    @property
    def kind_label(self) -> str:
        return kind_label(self.kind)

    @cached_property
    def stem_html(self) -> str:
        """The stem as shown to a student: the stored HTML sanitised again (defence in depth).
        Kept on the instance, so a version from the per-process display cache is cleaned once."""
        return mark_safe(html_render(self.stem, block=True))

    @cached_property
    def options_html(self) -> list[tuple[str, str]]:
        """(key, sanitised HTML) of each option, in display order."""
        if self.kind == ItemKind.TRUE_FALSE:
            # Lazy: the version is shared by requests in every language.
            return [(key, true_false_label(key, lazy=True)) for key in TRUE_FALSE_KEYS]
        return [
            (option["key"], mark_safe(html_render(option["text"], block=False)))
            for option in self.display_options
        ]

    @property
    def display_options(self) -> list[dict]:
        """The options in the order students see them: as written, except for an ordering
        item, whose options are shuffled (the same way every time for a version, so a reload
        or another student sees the same list) and never shown in the right order."""
        if self.kind != ItemKind.ORDERING or len(self.options) < 2:
            return list(self.options)
        shown = list(self.options)
        random.Random(f"{self.item_id}:{self.number}").shuffle(shown)
        right = list((self.answer or {}).get("order", []))
        if [option["key"] for option in shown] == right:
            shown = shown[1:] + shown[:1]
        return shown


class BankRevision(models.Model):
    """One row per school: bumped whenever any item's parameters or status change, so that
    processes caching an item pool's parameter matrix know when to rebuild it."""

    revision = models.PositiveBigIntegerField(default=1)

    def __str__(self) -> str:
        return f"bank revision {self.revision}"

    @classmethod
    def current(cls) -> int:
        row = cls.objects.only("revision").first()
        return row.revision if row else 0

    @classmethod
    def bump(cls) -> None:
        updated = cls.objects.update(revision=F("revision") + 1)
        if not updated:
            cls.objects.create(revision=1)


# --- Item statistics ---------------------------------------------------------------------------


#: Item-fit p-values below this are flagged: strict, because a bank of hundreds of items would
#: flag several that fit at 1 %. Mean squares outside Linacre's "productive for measurement"
#: range are flagged (the tighter 0.7-1.3 flags many fitting easy or hard items at n = 200,
#: where outfit is dominated by a few unexpected answers).
FIT_P_LIMIT = 0.001
MEAN_SQUARE_RANGE = (0.5, 1.5)


class ItemStatistics(models.Model):
    """Classical and fit statistics of one item from the attempts of a recent period, recomputed
    by `item_statistics_refresh` (a Celery beat job, or a staff member's "Recompute now")."""

    item = models.OneToOneField(
        Item, on_delete=models.CASCADE, primary_key=True, related_name="statistics"
    )
    n_responses = models.PositiveIntegerField(_("responses"), default=0)
    n_correct = models.PositiveIntegerField(_("correct responses"), default=0)
    # Proportion correct (classical difficulty).
    p_value = models.FloatField(_("p-value"), null=True, blank=True)
    # Correlation between answering this item correctly and the rest of the session's score.
    point_biserial = models.FloatField(_("point-biserial"), null=True, blank=True)
    mean_response_time_ms = models.FloatField(_("mean response time (ms)"), null=True, blank=True)
    n_sessions = models.PositiveIntegerField(_("sessions that saw the item"), default=0)
    exposure_rate = models.FloatField(_("exposure rate"), null=True, blank=True)
    # Mean of the model's P(correct) at each student's ability, with the item's parameters.
    expected_p = models.FloatField(_("model-expected p"), null=True, blank=True)
    misfit = models.BooleanField(_("misfit"), default=False)
    # Orlando-Thissen S-X2 (summed-score groups) and its p-value: shown for comparison with
    # other software; on adaptive data it rejects most items even when they fit.
    s_x2 = models.FloatField(_("S-X2"), null=True, blank=True)
    s_x2_df = models.PositiveSmallIntegerField(_("S-X2 degrees of freedom"), null=True, blank=True)
    s_x2_p = models.FloatField(_("S-X2 p-value"), null=True, blank=True)
    # Fit on adaptive data: answers against their probability given the earlier answers.
    fit_x2 = models.FloatField(_("adaptive fit X2"), null=True, blank=True)
    fit_df = models.PositiveSmallIntegerField(
        _("adaptive fit degrees of freedom"), null=True, blank=True
    )
    fit_p = models.FloatField(_("adaptive fit p-value"), null=True, blank=True)
    infit = models.FloatField(_("infit mean square"), null=True, blank=True)
    outfit = models.FloatField(_("outfit mean square"), null=True, blank=True)
    period_start = models.DateTimeField(_("period start"))
    computed_at = models.DateTimeField(_("computed"))

    class Meta:
        verbose_name = _("item statistics")
        verbose_name_plural = _("item statistics")

    def __str__(self) -> str:
        return f"{self.item_id}: n={self.n_responses}"

    @property
    def negative_point_biserial(self) -> bool:
        """Students who got it right did worse on the rest: a wrong key is the usual cause."""
        return self.point_biserial is not None and self.point_biserial < 0

    @property
    def fit_rejected(self) -> bool:
        return self.fit_p is not None and self.fit_p < FIT_P_LIMIT

    @property
    def s_x2_rejected(self) -> bool:
        return self.s_x2_p is not None and self.s_x2_p < FIT_P_LIMIT

    @property
    def infit_flagged(self) -> bool:
        return (
            self.infit is not None
            and not MEAN_SQUARE_RANGE[0] <= self.infit <= MEAN_SQUARE_RANGE[1]
        )

    @property
    def outfit_flagged(self) -> bool:
        return (
            self.outfit is not None
            and not MEAN_SQUARE_RANGE[0] <= self.outfit <= MEAN_SQUARE_RANGE[1]
        )

    @property
    def fit_gap(self) -> float | None:
        if self.p_value is None or self.expected_p is None:
            return None
        return self.p_value - self.expected_p


# --- Calibration runs --------------------------------------------------------------------------


class CalibrationStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Waiting for review")
    FAILED = "failed", _("Failed")
    ACCEPTED = "accepted", _("Accepted")
    DISCARDED = "discarded", _("Discarded")


class CalibrationKind(models.TextChoices):
    SELECTED = "selected", _("Selected items")
    PILOT = "pilot", _("Pilot items")


class CalibrationMethod(models.TextChoices):
    ANCHORED = "anchored", _("Fixed anchors: other calibrated items held fixed")
    FREE = "free", _("Free calibration, linked by mean/sigma")
    FREE_UNLINKED = "free_unlinked", _("Free calibration on this sample's scale")


CALIBRATION_MODELS = [
    (IrtModel.ONE_PL, IrtModel.ONE_PL.label),
    (IrtModel.TWO_PL, IrtModel.TWO_PL.label),
    (IrtModel.THREE_PL, IrtModel.THREE_PL.label),
]


class CalibrationRun(models.Model):
    """Estimating item parameters from the attempts collected so far. Nothing in the bank
    changes until someone accepts the run; its results are kept either way."""

    OPEN_STATUSES = (CalibrationStatus.QUEUED, CalibrationStatus.RUNNING)

    kind = models.CharField(
        _("items"), max_length=10, choices=CalibrationKind.choices, default=CalibrationKind.SELECTED
    )
    model = models.CharField(
        _("IRT model"), max_length=3, choices=CALIBRATION_MODELS, default=IrtModel.THREE_PL
    )
    min_responses = models.PositiveIntegerField(_("minimum responses per item"), default=50)
    # Estimates with a larger standard error are flagged ``large_se`` and never applied.
    max_se_a = models.FloatField(_("largest standard error of a"), default=0.75)
    max_se_b = models.FloatField(_("largest standard error of b"), default=0.5)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=CalibrationStatus.choices,
        default=CalibrationStatus.QUEUED,
    )
    progress = models.PositiveSmallIntegerField(_("progress"), default=0)
    stage = models.CharField(_("stage"), max_length=80, blank=True)
    method = models.CharField(
        _("method"), max_length=16, choices=CalibrationMethod.choices, blank=True
    )
    n_persons = models.PositiveIntegerField(_("test sessions"), default=0)
    n_responses = models.PositiveIntegerField(_("responses"), default=0)
    n_anchors = models.PositiveIntegerField(_("anchor items"), default=0)
    iterations = models.PositiveIntegerField(_("EM cycles"), default=0)
    # Items the run estimated, and those whose estimates passed every check (set when it ends).
    n_estimated = models.PositiveIntegerField(null=True, blank=True)
    n_usable = models.PositiveIntegerField(null=True, blank=True)
    converged = models.BooleanField(_("converged"), null=True, blank=True)
    population_mean = models.FloatField(null=True, blank=True)
    population_sd = models.FloatField(null=True, blank=True)
    # Linking constants (theta_bank = slope * theta_run + intercept) of a free calibration.
    link_slope = models.FloatField(null=True, blank=True)
    link_intercept = models.FloatField(null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(progress__lte=100), name="calibration_progress_percent"
            )
        ]

    def __str__(self) -> str:
        return f"calibration #{self.pk} ({self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None

    @property
    def has_nothing_to_accept(self) -> bool:
        """Finished, but not one item passed the checks: there is nothing to review."""
        return self.status == CalibrationStatus.SUCCEEDED and self.n_usable == 0

    @property
    def status_key(self) -> str:
        """The badge's style: like the status, except a finished run with nothing usable."""
        return "nothing" if self.has_nothing_to_accept else self.status

    @property
    def status_label(self) -> str:
        if self.has_nothing_to_accept:
            return str(_("Nothing usable"))
        return self.get_status_display()


#: Drift: a recalibrated item's change is flagged when it is at least DRIFT_Z standard errors
#: of the change (so unlikely to be chance) and at least DRIFT_MIN_CHANGE logits (so it
#: matters: a quarter logit moves a typical student's expected score noticeably).
DRIFT_Z = 3.0
DRIFT_MIN_CHANGE = 0.25
#: Outcomes of an item in a run, most urgent first (the review page lists them in this order).
CALIBRATION_OUTCOMES = (
    "drift",
    "at_bound",
    "not_converged",
    "large_se",
    "not_estimated",
    "usable",
)


class CalibrationResult(models.Model):
    """One item of a run: its parameters when the run was started, and the new estimates."""

    # No index of its own: calibration_result_once starts with this column.
    run = models.ForeignKey(
        CalibrationRun, on_delete=models.CASCADE, related_name="results", db_index=False
    )
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="calibration_results")
    old_status = models.CharField(max_length=10, choices=ItemStatus.choices)
    old_model = models.CharField(max_length=MODEL_MAX_LENGTH, choices=IrtModel.choices)
    old_a = models.FloatField()
    old_b = models.FloatField(null=True, blank=True)
    old_c = models.FloatField()
    old_d = models.FloatField()
    old_se_a = models.FloatField(null=True, blank=True)
    old_se_b = models.FloatField(null=True, blank=True)
    old_se_c = models.FloatField(null=True, blank=True)
    n_responses = models.PositiveIntegerField(default=0)
    new_a = models.FloatField(null=True, blank=True)
    new_b = models.FloatField(null=True, blank=True)
    new_c = models.FloatField(null=True, blank=True)
    new_d = models.FloatField(null=True, blank=True)
    se_a = models.FloatField(null=True, blank=True)
    se_b = models.FloatField(null=True, blank=True)
    se_c = models.FloatField(null=True, blank=True)
    # "", "too_few_responses", "no_variance", "at_bound", "not_converged" or "large_se"
    # (see dreamseed.cat.calibration.item_convergence): only "" may be applied.
    flag = models.CharField(max_length=20, blank=True)
    # Observed proportion correct by ability group, for the plot: [[theta, p, n], ...].
    observed = models.JSONField(default=list, blank=True)
    # A GPCM/GRM item's steps before and after (its b is their mean; empty for dichotomous).
    old_steps = ArrayField(models.FloatField(), blank=True, default=list)
    new_steps = ArrayField(models.FloatField(), blank=True, default=list)

    class Meta:
        ordering = ["run", "item__external_id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "item"], name="calibration_result_once")
        ]

    def __str__(self) -> str:
        return f"{self.run_id}/{self.item_id}"

    @property
    def is_estimated(self) -> bool:
        return self.new_b is not None

    @property
    def is_applicable(self) -> bool:
        """The estimates passed every check and may be applied (drift is only a warning)."""
        return self.new_b is not None and self.flag == ""

    @property
    def a_change(self) -> float | None:
        if self.new_b is None or self.old_b is None:
            return None
        return self.new_a - self.old_a

    @staticmethod
    def _z(change, se_new, se_old) -> float | None:
        if change is None or se_new is None:
            return None
        spread = (se_new**2 + (se_old or 0.0) ** 2) ** 0.5
        return change / spread if spread > 0 else None

    @property
    def drift_z_b(self) -> float | None:
        """Change of b in standard errors of the change (old and new SEs combined)."""
        return self._z(self.b_change, self.se_b, self.old_se_b)

    @property
    def drift_z_a(self) -> float | None:
        return self._z(self.a_change, self.se_a, self.old_se_a)

    @property
    def has_drift(self) -> bool:
        """A recalibrated item whose a or b moved by more than chance and by a size that
        matters (DRIFT_Z standard errors and DRIFT_MIN_CHANGE logits): check it first."""
        for change, z in ((self.b_change, self.drift_z_b), (self.a_change, self.drift_z_a)):
            if z is not None and abs(z) >= DRIFT_Z and abs(change) >= DRIFT_MIN_CHANGE:
                return True
        return False

    @property
    def outcome(self) -> str:
        """One of CALIBRATION_OUTCOMES: what the review page groups the item under."""
        if self.new_b is None or self.flag in ("too_few_responses", "no_variance"):
            return "not_estimated"
        if self.flag:
            # Any other refusal an engine may report ("not_moved", ...) is a failure to converge.
            return self.flag if self.flag in CALIBRATION_OUTCOMES else "not_converged"
        return "drift" if self.has_drift else "usable"

    @property
    def old_parameters(self) -> tuple:
        return (self.old_a, self.old_b, self.old_c, self.old_d)

    @property
    def new_parameters(self) -> tuple:
        return (self.new_a, self.new_b, self.new_c, self.new_d)

    @property
    def b_change(self) -> float | None:
        if self.new_b is None or self.old_b is None:
            return None
        return self.new_b - self.old_b


# --- Imports -----------------------------------------------------------------------------------


class ItemImport(models.Model):
    """An uploaded item file between its preview and its confirmation: the confirm step re-reads
    exactly this text (or package), so what is applied is what the teacher saw."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    filename = models.CharField(_("file name"), max_length=255, blank=True)
    format = models.CharField(_("format"), max_length=16, default="csv")
    text = models.TextField(blank=True)
    # A QTI package's bytes (its images are saved only on confirmation); None for a text file.
    package = models.BinaryField(null=True, blank=True, editable=False)
    sha256 = models.CharField(max_length=64)
    created = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return self.filename or str(self.pk)

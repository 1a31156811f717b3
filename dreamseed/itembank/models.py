"""A school's item bank: items with IRT parameters, and the versions of their content.

An item's *content* (stem, options, key) is versioned: once an item has been used, editing it
creates a new ItemVersion, and every attempt keeps pointing at the version the student saw.
Its *parameters* (a, b, c, d) describe the item on the school's theta scale and change only by
authoring or by an accepted calibration run.
"""

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F
from django.utils.translation import gettext_lazy as _


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
        _("IRT model"), max_length=3, choices=IrtModel.choices, default=IrtModel.THREE_PL
    )
    a = models.FloatField(_("discrimination (a)"), default=1.0)
    # b is unknown for pilot items until they are calibrated.
    b = models.FloatField(_("difficulty (b)"), null=True, blank=True)
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
        ]

    def __str__(self) -> str:
        return self.external_id

    def save(self, *args, **kwargs):
        if not self.external_id:
            self.external_id = uuid.uuid4().hex[:12]
        super().save(*args, **kwargs)

    @property
    def parameters(self) -> tuple[float, float, float, float]:
        """[a, b, c, d] as the engine expects (b must be known)."""
        return (self.a, self.b, self.c, self.d)


class ItemVersion(models.Model):
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    # Sanitised HTML (paragraphs, emphasis, lists, images; math as $...$ LaTeX rendered by KaTeX).
    stem = models.TextField(_("stem"))
    # [{"key": "A", "text": "..."}, ...] in display order.
    options = models.JSONField(_("options"), default=list)
    correct_key = models.CharField(_("correct option"), max_length=4)
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

    def is_correct(self, key: str) -> bool:
        return key == self.correct_key

    @property
    def option_keys(self) -> list[str]:
        return [option["key"] for option in self.options]


class BankRevision(models.Model):
    """One row per school: bumped whenever any item's parameters or status change, so that
    processes caching an item pool's parameter matrix know when to rebuild it."""

    revision = models.PositiveBigIntegerField(default=1)

    @classmethod
    def current(cls) -> int:
        row = cls.objects.only("revision").first()
        return row.revision if row else 0

    @classmethod
    def bump(cls) -> None:
        updated = cls.objects.update(revision=F("revision") + 1)
        if not updated:
            cls.objects.create(revision=1)

"""The answer path's shortcuts stay safe: what they skip must stay skippable.

- It writes ExamSession and Attempt rows with precompiled SQL (dreamseed/core/hotpath.py),
  which sends no pre_save/post_save: a receiver added to either model would silently not run.
- The item version it shows comes from a per-process cache shared by every student of a
  school; the question's HTML is rendered from it for each request, in the student's language.
"""

import pytest
from django.db import connection
from django.db.models.signals import post_save, pre_save
from django.template.loader import render_to_string
from django.utils import translation

from dreamseed.assessments import receivers
from dreamseed.assessments.models import Attempt, ExamSession, SessionStatus
from dreamseed.assessments.services import _FINISH_FIELDS, _STEP_FIELDS
from dreamseed.assessments.views import _question_body
from dreamseed.itembank.models import ItemVersion

FRAGMENT = "assessments/_question_body.html"


def _receivers(signal, sender) -> list:
    sync, async_ = signal._live_receivers(sender)
    return [*sync, *async_]


def test_the_models_the_answer_path_writes_have_only_the_receivers_it_is_known_to_skip():
    """A new save receiver on ExamSession or Attempt would not run for answers. If you add one,
    either make the answer path do its work, or show here that it has nothing to do for them."""
    assert _receivers(pre_save, ExamSession) == []
    assert _receivers(pre_save, Attempt) == []
    assert _receivers(post_save, Attempt) == []
    assert _receivers(post_save, ExamSession) == [receivers.session_saved]


@pytest.mark.parametrize(
    ("status", "fields"),
    [(SessionStatus.IN_PROGRESS, _STEP_FIELDS), (SessionStatus.COMPLETED, _FINISH_FIELDS)],
)
def test_the_session_receiver_has_nothing_to_do_for_the_answer_paths_updates(
    monkeypatch, status, fields
):
    marks = []
    monkeypatch.setattr(receivers, "school_due_mark", lambda **kwargs: marks.append(kwargs))
    receivers.session_saved(
        ExamSession, ExamSession(status=status), created=False, update_fields=set(fields)
    )
    assert marks == []


def _version():
    return ItemVersion(
        id=1,
        item_id=1,
        number=1,
        stem="<p>What is 2 + 2?</p>",
        options=[{"key": "A", "text": "3"}, {"key": "B", "text": "4"}],
        correct_key="B",
    )


def test_the_question_fragment_is_in_the_students_language():
    version = _version()
    version.kind, version.options, version.correct_key = "truefalse", [], "T"
    rendered = {}
    for language in ("en", "ko", "es"):
        with translation.override(language):
            rendered[language] = _question_body(version)
    assert len(set(rendered.values())) == 3
    assert "True" in rendered["en"] and "Verdadero" in rendered["es"]
    assert "What is 2 + 2?" in rendered["ko"] and 'value="T"' in rendered["ko"]


def test_students_in_two_languages_get_the_fragment_a_plain_render_gives(
    client_for, personas, world
):
    """Through the real page: each student's question body (Korean and English pages) is exactly
    the fragment rendered from the version alone in the page's language, with no request or
    user."""
    for persona, language in (("alpha_student", "ko"), ("alpha_student2", "en")):
        client = client_for(personas[persona])
        start = client.post(f"/tests/take/{world.assignment.pk}/")
        page = client.get(start["Location"], HTTP_ACCEPT_LANGUAGE=language)
        assert page.status_code == 200
        assert f'lang="{language}"' in page.text
        connection.set_tenant(world.school)
        fresh = ItemVersion.objects.get(pk=page.context["version"].pk)
        with translation.override(language):
            assert page.context["question_body"] == render_to_string(FRAGMENT, {"version": fresh})
        assert page.context["question_body"] in page.text

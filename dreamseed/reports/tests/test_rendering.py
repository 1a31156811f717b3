"""The PDFs themselves: opened with pdftotext/pypdf/pdffonts and looked at as an image."""

import io
import os
import shutil
from pathlib import Path

import pytest
from pypdf import PdfReader

from dreamseed.reports import services
from dreamseed.reports.models import Paper, Report, ReportKind, ReportStatus
from dreamseed.reports.tests.conftest import tenant
from dreamseed.reports.tests.pdfcheck import (
    A4_POINTS,
    LETTER_POINTS,
    embedded_fonts,
    ink_share,
    page_png,
    page_sizes,
    pdf_text,
    zip_members,
)

#: Set REPORTS_KEEP_PNG=/some/folder to keep the pages rendered here, to look at them.
KEEP = os.environ.get("REPORTS_KEEP_PNG")


def _make(world, *, kind, language="en", paper=Paper.A4, session=None):
    with tenant(world):
        report = services.report_request(
            kind=kind,
            session=session,
            assignment=None if session else world.assignment,
            requested_by=world.teacher,
            language=language,
            paper=paper,
        )
        report = services.report_render(report_id=report.pk)
        assert report.status == ReportStatus.SUCCEEDED, report.error
        with report.file.open("rb") as handle:
            return report, handle.read()


def _keep(png: Path, name: str):
    if KEEP:
        Path(KEEP).mkdir(parents=True, exist_ok=True)
        shutil.copy(png, Path(KEEP) / name)


def test_student_report_shows_who_what_the_score_and_every_section(class_world):
    session = class_world.session_of[class_world.sam.pk]
    report, data = _make(class_world, kind=ReportKind.STUDENT, session=session)
    assert data.startswith(b"%PDF-")
    text = pdf_text(data)
    for expected in [
        "Alpha School",
        "Student report",
        "Sam Student",
        "Math 7",
        "Fractions check-in",
        f"{session.score:.0f}",  # the scale score
        f"{session.score - 10 * session.standard_error:.0f}",  # its SE band
        "Percentile in class",
        "What the score means",
        "Next steps",
        "How the score settled",
        "Performance by content area",
        "Algebra",
        "Arithmetic",
        "Item-by-item appendix",
        "pilot, unscored",
        "Question",  # the trajectory chart's axis: the chart is drawn, as real text
    ]:
        assert expected in text, expected
    assert "chart:" not in text and "<img" not in text
    # Every answer is in the appendix.
    with tenant(class_world):
        for attempt in session.attempts.select_related("item"):
            assert attempt.item.external_id in text
    assert set(page_sizes(data)) == {A4_POINTS}
    reader = PdfReader(io.BytesIO(data))
    assert reader.metadata.title.startswith("Student report: Sam Student")
    assert report.file.name.startswith(f"reports/alpha/{report.created:%Y/%m}/student-")


def test_korean_student_report_in_korean_on_letter_paper(class_world):
    kim = class_world.extra[0]  # 김민준
    session = class_world.session_of[kim.pk]
    _, data = _make(
        class_world, kind=ReportKind.STUDENT, session=session, language="ko", paper=Paper.LETTER
    )
    text = pdf_text(data)
    for expected in [
        "김민준",  # family name first, as Koreans write it
        "학생 보고서",
        "점수의 의미",
        "다음 단계",
        "내용 영역별 성취",
        "문항별 부록",
        "학급 내 백분위",
        f"{session.score:.0f}",
    ]:
        assert expected in text, expected
    assert "Student report" not in text
    assert set(page_sizes(data)) == {LETTER_POINTS}
    # Hangul comes from the compact cut of Noto Sans CJK KR (dreamseed/reports/fonts.py).
    assert "DreamSeed-Korean" in embedded_fonts(data)
    png = page_png(data)
    inked, coloured = ink_share(png)
    assert inked > 0.03 and coloured > 0.005, (inked, coloured)
    _keep(page_png(data, dpi=80), "student-ko-page1.png")
    _keep(page_png(data, page=2, dpi=80), "student-ko-page2.png")


def test_a_syllable_outside_the_compact_korean_font_falls_back_to_the_system_font(class_world):
    # 똠 is not among the 2,350 syllables of KS X 1001 (the "똠방각하" problem of EUC-KR).
    with tenant(class_world):
        kim = class_world.extra[1]
        kim.first_name, kim.last_name = "똠방", "이"
        kim.save(update_fields=["first_name", "last_name"])
    session = class_world.session_of[kim.pk]
    _, data = _make(class_world, kind=ReportKind.STUDENT, session=session, language="ko")
    assert "이똠방" in pdf_text(data)
    fonts = embedded_fonts(data)
    assert "DreamSeed-Korean" in fonts and "Noto-Sans-CJK-KR" in fonts


def test_class_report_lists_every_student_with_statistics_and_sections(class_world):
    _, data = _make(class_world, kind=ReportKind.CLASS)
    text = pdf_text(data)
    for expected in [
        "Class report",
        "Summary statistics",
        "Students",
        "Content areas",
        "Items with unusual statistics",
        "Sam Student",
        "Sara Student",
        "김민준",
        "이서연",
        "Mean score",
        "Reliability (marginal)",
    ]:
        assert expected in text, expected
    for session in class_world.sessions:
        assert f"{session.score:.0f}" in text
    assert "chart:" not in text and "<img" not in text
    mean = sum(s.score for s in class_world.sessions) / len(class_world.sessions)
    assert f"{mean:.1f}" in text
    assert set(page_sizes(data)) == {A4_POINTS}
    png = page_png(data)
    inked, coloured = ink_share(png)
    assert inked > 0.03 and coloured > 0.005, (inked, coloured)
    _keep(page_png(data, dpi=80), "class-en-page1.png")


def test_class_report_in_korean(class_world):
    _, data = _make(class_world, kind=ReportKind.CLASS, language="ko")
    text = pdf_text(data)
    for expected in ["학급 보고서", "요약 통계", "특이한 통계를 보인 문항", "김민준", "박지호"]:
        assert expected in text, expected
    _keep(page_png(data, dpi=80), "class-ko-page1.png")


def test_a_page_as_png_is_not_blank(class_world):
    session = class_world.session_of[class_world.sara.pk]
    _, data = _make(class_world, kind=ReportKind.STUDENT, session=session)
    _keep(page_png(data, dpi=80), "student-en-page1.png")
    _keep(page_png(data, page=2, dpi=80), "student-en-page2.png")
    png = page_png(data, dpi=50)
    assert png.read_bytes().startswith(b"\x89PNG")
    inked, coloured = ink_share(png)
    # Text and table rules ink the page; the chart and the score panel colour it.
    assert inked > 0.03, inked
    assert coloured > 0.002, coloured


def test_bundle_is_a_zip_of_every_finished_students_report(class_world, monkeypatch):
    seen = []
    real = services._set_progress
    monkeypatch.setattr(
        services, "_set_progress", lambda report, p: (seen.append(int(p)), real(report, p))
    )
    report, data = _make(class_world, kind=ReportKind.CLASS_BUNDLE)
    members = zip_members(data)
    assert len(members) == len(class_world.sessions)
    assert any(name.startswith("김민준 (") for name in members)
    assert any(name.startswith("Sam Student (sam)") for name in members)
    for name, pdf in members.items():
        assert pdf.startswith(b"%PDF-"), name
    # Progress moved once per student, upwards.
    assert len(seen) == len(class_world.sessions) and seen == sorted(seen)
    assert report.progress == 100


def test_rendering_twice_is_a_no_op_and_a_rerun_overwrites_the_same_file(class_world):
    session = class_world.session_of[class_world.sam.pk]
    report, _ = _make(class_world, kind=ReportKind.STUDENT, session=session)
    with tenant(class_world):
        again = services.report_render(report_id=report.pk)
        assert again.runs == 1 and again.file.name == report.file.name
        # A worker died after saving the file but before recording success: the redelivered
        # task renders again into the same name (no "_abc123" copies left behind).
        Report.objects.filter(pk=report.pk).update(status=ReportStatus.RUNNING, progress=40)
        rerun = services.report_render(report_id=report.pk)
        assert rerun.status == ReportStatus.SUCCEEDED and rerun.runs == 2
        assert rerun.file.name == report.file.name
        folder = Path(rerun.file.path).parent
        assert [p.name for p in folder.glob(f"student-{report.pk}*")] == [
            f"student-{report.pk}.pdf"
        ]


def test_asking_twice_gives_the_same_report(class_world):
    with tenant(class_world):
        first = services.report_request(
            kind=ReportKind.CLASS,
            assignment=class_world.assignment,
            requested_by=class_world.teacher,
        )
        second = services.report_request(
            kind=ReportKind.CLASS,
            assignment=class_world.assignment,
            requested_by=class_world.teacher,
        )
        assert first.pk == second.pk
        other_paper = services.report_request(
            kind=ReportKind.CLASS,
            assignment=class_world.assignment,
            requested_by=class_world.teacher,
            paper=Paper.LETTER,
        )
        assert other_paper.pk != first.pk


@pytest.mark.parametrize(
    "score, others, expected",
    [(50, [], 50.0), (50, [40, 60], 50.0), (70, [40, 60, 65], 87.5), (40, [40, 40, 60], 37.5)],
)
def test_percentile_rank_counts_ties_as_half(score, others, expected):
    from dreamseed.reports.selectors import percentile_rank

    assert percentile_rank(score, others) == pytest.approx(expected)

"""Import benchmark for the exchange formats: a 5,000-item package, preview and confirm (target
each < 20 s).

    .venv/bin/python bench/import_formats.py --format qti|moodlexml [--items 5000] [--pages]

Builds the file in memory (`--format qti`: a QTI 2.1 content package, one item file per item,
every supported interaction, a few images shared between items, DreamSeed IRT metadata in the
manifest for half the items; `--format moodlexml`: a Moodle XML export of every question type
it reads, feedback and hints included, a category every 250 questions, embedded images, IRT
tags on half the questions), then, in a throw-away school created inside one transaction
that is rolled back at the end (nothing is left behind), times what a teacher's upload
(read the package, plan every item: the preview) and confirmation (re-plan, save the images,
bulk-write items and versions) cost, on the database in DATABASE_URL (default: the development
database). With --pages the same file also goes through the real pages.

Each format registers a builder in BUILDERS: builder(count, *, seed=1, prefix="BENCH") ->
(file name, bytes), the ids of its items starting with the prefix.
"""

import argparse
import base64
import io
import os
import random
import re
import sys
import time
import zipfile
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dreamseed.settings")

import django

django.setup()

from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from dreamseed.accounts.models import Role, User  # noqa: E402
from dreamseed.itembank.models import Item  # noqa: E402
from dreamseed.itembank.services import item_import_apply, item_import_create  # noqa: E402
from dreamseed.schools.services import platform_bootstrap, school_create  # noqa: E402

SUBDOMAIN = "bench-formats"
TARGET_SECONDS = 20.0
QTI21 = "http://www.imsglobal.org/xsd/imsqti_v2p1"
DS = "https://dreamseed.org/xsd/qti-metadata/v1"
AREAS = ["Number sense", "Arithmetic", "Fractions", "Algebra", "Geometry"]


class Rollback(Exception):
    pass


def _png(index: int) -> bytes:
    image = Image.new("RGB", (160, 90), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.rectangle([4, 4, 155, 85], outline=(20 * index % 255, 90, 160), width=3)
    draw.text((20, 35), f"Figure {index}", fill=(0, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _choices(values) -> str:
    return "".join(
        f'<simpleChoice identifier="c{n}">{value}</simpleChoice>' for n, value in enumerate(values)
    )


def _qti_item(index: int, rng: random.Random, prefix: str) -> tuple[str, bool]:
    """One QTI 2.1 item file, cycling through the interactions; returns (xml, has image)."""
    x, y = rng.randrange(2, 99), rng.randrange(2, 99)
    kind = index % 20
    image = index % 25 == 0
    number = (index // 25) % 20
    figure = f'<p><img src="images/figure{number}.png" alt="Figure {number}"/></p>'
    stem = f"<p>A question about <strong>{x}</strong> and <em>{y}</em>.</p>" + (
        figure if image else ""
    )
    if kind < 10:  # single choice
        declaration = ("single", "identifier", "<value>c0</value>", "")
        body = f'<choiceInteraction responseIdentifier="RESPONSE" maxChoices="1"><prompt>What is {x} × {y}?</prompt>{_choices([x * y, x * y + x, x + y, x * (y - 1)])}</choiceInteraction>'  # noqa: E501
    elif kind < 13:  # multiple
        declaration = ("multiple", "identifier", "<value>c0</value><value>c2</value>", "")
        body = f'<choiceInteraction responseIdentifier="RESPONSE" maxChoices="0"><prompt>Which equal {x * y}?</prompt>{_choices([f"{x} × {y}", f"{x} + {y}", f"{y} × {x}", f"{x} − {y}"])}</choiceInteraction>'  # noqa: E501
    elif kind == 13:  # true/false
        declaration = ("single", "identifier", "<value>c1</value>", "")
        body = f'<p>{x} × {y} = {x * y + 1}</p><choiceInteraction responseIdentifier="RESPONSE" maxChoices="1">{_choices(["True", "False"])}</choiceInteraction>'  # noqa: E501
    elif kind < 16:  # numeric with a tolerance
        declaration = ("single", "float", f"<value>{x / y:.4f}</value>", "")
        body = f'<p>Give {x} ÷ {y} to two decimal places: <textEntryInteraction responseIdentifier="RESPONSE"/></p>'  # noqa: E501
    elif kind < 18:  # text
        mapping = '<mapping defaultValue="0"><mapEntry mapKey="Paris" mappedValue="1"/><mapEntry mapKey="the city of Paris" mappedValue="1"/></mapping>'  # noqa: E501
        declaration = ("single", "string", "<value>Paris</value>", mapping)
        body = (
            '<p>The capital of France is <textEntryInteraction responseIdentifier="RESPONSE"/>.</p>'
        )
    elif kind == 18:  # ordering
        declaration = (
            "ordered",
            "identifier",
            "<value>c2</value><value>c0</value><value>c1</value>",
            "",
        )
        body = f'<orderInteraction responseIdentifier="RESPONSE"><prompt>Smallest first.</prompt>{_choices([x + 10, x + 20, x])}</orderInteraction>'  # noqa: E501
    else:  # extended text, never scored
        declaration = ("single", "string", "", "")
        body = '<extendedTextInteraction responseIdentifier="RESPONSE"><prompt>Explain how you would check your answer.</prompt></extendedTextInteraction>'  # noqa: E501
    cardinality, base_type, correct, mapping = declaration
    correct = f"<correctResponse>{correct}</correctResponse>" if correct else ""
    processing = ""
    if base_type == "float":
        processing = '<responseProcessing><responseCondition><responseIf><equal toleranceMode="absolute" tolerance="0.005"><variable identifier="RESPONSE"/><correct identifier="RESPONSE"/></equal><setOutcomeValue identifier="SCORE"><baseValue baseType="float">1</baseValue></setOutcomeValue></responseIf></responseCondition></responseProcessing>'  # noqa: E501
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<assessmentItem xmlns="{QTI21}" identifier="{prefix}-{index:06d}" title="Bench {index}"
    adaptive="false" timeDependent="false">
  <responseDeclaration identifier="RESPONSE" cardinality="{cardinality}" baseType="{base_type}">
    {correct}{mapping}
  </responseDeclaration>
  <outcomeDeclaration identifier="SCORE" cardinality="single" baseType="float"/>
  <itemBody>
    {stem}
    {body}
  </itemBody>
  {processing}
</assessmentItem>
"""
    return xml, kind < 19


def qti_package(count: int, *, seed: int = 1, prefix: str = "BENCH") -> tuple[str, bytes]:
    rng = random.Random(seed)
    buffer = io.BytesIO()
    resources = []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        for figure in range(20):
            package.writestr(f"items/images/figure{figure}.png", _png(figure))
        for index in range(count):
            xml, scored = _qti_item(index, rng, prefix)
            href = f"items/item{index:06d}.xml"
            package.writestr(href, xml)
            metadata = ""
            if scored and index % 2 == 0:
                metadata = (
                    f'<metadata><ds:item xmlns:ds="{DS}" status="active" subject="Mathematics" '
                    f'grade="{3 + index % 6}" content-area="{AREAS[index % len(AREAS)]}">'
                    f'<ds:irt model="3PL" a="{rng.uniform(0.8, 2.0):.3f}" '
                    f'b="{rng.gauss(0, 1):.3f}" c="{rng.uniform(0.1, 0.2):.3f}" d="1"/>'
                    f"<ds:standard>STD.{index % 40}</ds:standard></ds:item></metadata>"
                )
            resources.append(
                f'<resource identifier="R{index:06d}" type="imsqti_item_xmlv2p1" href="{href}">'
                f'{metadata}<file href="{href}"/></resource>'
            )
        package.writestr(
            "imsmanifest.xml",
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<manifest xmlns="http://www.imsglobal.org/xsd/imscp_v1p1" identifier="BENCH">'
            "<organizations/><resources>" + "\n".join(resources) + "</resources></manifest>",
        )
    return "bench-qti21.zip", buffer.getvalue()


def _moodle_text(tag: str, text: str, fmt: str = "html") -> str:
    return f'<{tag} format="{fmt}"><text><![CDATA[{text}]]></text></{tag}>'


def _moodle_question(index: int, rng: random.Random, prefix: str, image: bytes | None) -> str:
    """One question as Moodle's own export writes it (feedback, hints and all), cycling through
    the types the importer reads; half carry our IRT parameters in tags, a third no idnumber."""
    x, y = rng.randrange(2, 99), rng.randrange(2, 99)
    kind = index % 20
    stem = f"<p>A question about <strong>{x}</strong> and <em>{y}</em>: $\\frac{{{x}}}{{{y}}}$.</p>"
    files = ""
    if image is not None:
        name = f"figure {index % 20}.png"
        stem += (
            f'<p><img src="@@PLUGINFILE@@/figure%20{index % 20}.png" alt="Figure {index % 20}"></p>'
        )
        encoded = base64.b64encode(image).decode()
        files = f'<file name="{name}" path="/" encoding="base64">{encoded}</file>'

    def answer(fraction, text, extra="", html=True):
        # Choices are HTML from the editor; Moodle writes other answers as plain text.
        text, fmt = (f"<p>{text}</p>", "html") if html else (text, "moodle_auto_format")
        return (
            f'<answer fraction="{fraction}" format="{fmt}"><text><![CDATA[{text}]]></text>'
            f"{_moodle_text('feedback', 'Feedback for this answer.')}{extra}</answer>"
        )

    if kind < 10:
        qtype = "multichoice"
        body = "<single>true</single><shuffleanswers>true</shuffleanswers>" + "".join(
            answer(100 if n == 0 else 0, value)
            for n, value in enumerate([x * y, x * y + x, x + y, x * (y - 1)])
        )
    elif kind < 13:
        qtype = "multichoice"
        body = "<single>false</single>" + "".join(
            answer(fraction, value)
            for fraction, value in [(50, f"{x} × {y}"), (-100, f"{x} + {y}"), (50, f"{y} × {x}")]
        )
    elif kind == 13:
        qtype = "truefalse"
        body = answer(0, "true", html=False) + answer(100, "false", html=False)
    elif kind < 16:
        qtype = "numerical"
        body = (
            answer(100, f"{x / y:.4f}", "<tolerance>0.005</tolerance>", html=False)
            + answer(0, "*", "<tolerance>0</tolerance>", html=False)
            + "<units><unit><multiplier>1</multiplier><unit_name>cm</unit_name></unit></units>"
            "<unitgradingtype>0</unitgradingtype><unitpenalty>0.1</unitpenalty>"
            "<showunits>0</showunits><unitsleft>0</unitsleft>"
        )
    elif kind < 18:
        qtype = "shortanswer"
        body = (
            "<usecase>0</usecase>"
            + answer(100, "Paris", html=False)
            + answer(100, "the city of Paris", html=False)
        )
    elif kind == 18:
        qtype = "ordering"
        body = "".join(answer(n + 1, value) for n, value in enumerate([x, x + 10, x + 20]))
    else:
        qtype = "essay"
        body = "<responseformat>editor</responseformat><responsefieldlines>15</responsefieldlines>"
    idnumber = f"<idnumber>{prefix}-{index:06d}</idnumber>" if index % 3 else ""
    tags = ""
    if index % 2 == 0 and qtype != "essay":
        tags = "<tags>" + "".join(
            f"<tag><text>dreamseed:{name}={value}</text></tag>"
            for name, value in [
                ("status", "active"), ("model", "3PL"), ("a", f"{rng.uniform(0.8, 2.0):.3f}"),
                ("b", f"{rng.gauss(0, 1):.3f}"), ("c", f"{rng.uniform(0.1, 0.2):.3f}"),
                ("standard", f"STD.{index % 40}"),
            ]
        ) + "</tags>"  # fmt: skip
    return (
        f'  <question type="{qtype}">\n'
        f"    <name><text>{prefix} question {index}</text></name>\n"
        f'    <questiontext format="html"><text><![CDATA[{stem}]]></text>{files}</questiontext>\n'
        f"    {_moodle_text('generalfeedback', 'Worked solution: multiply, then check.')}\n"
        "    <defaultgrade>1.0000000</defaultgrade><penalty>0.3333333</penalty><hidden>0</hidden>\n"
        f"    {idnumber}{body}\n"
        f'    <hint format="html"><text>Try a smaller case first.</text></hint>{tags}\n'
        "  </question>\n"
    )


def moodle_xml_file(count: int, *, seed: int = 1, prefix: str = "BENCH") -> tuple[str, bytes]:
    """A Moodle XML question export: a category every 250 questions, every type the importer
    reads, one question in 25 with an embedded PNG (Moodle repeats the bytes per question)."""
    rng = random.Random(seed)
    figures = [_png(figure) for figure in range(20)]
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n']
    for index in range(count):
        if index % 250 == 0:
            area = AREAS[(index // 250) % len(AREAS)]
            parts.append(
                '  <question type="category"><category><text>'
                f"$course$/top/Default for Bench/{area}</text></category></question>\n"
            )
        image = figures[index % 20] if index % 25 == 0 else None
        parts.append(_moodle_question(index, rng, prefix, image))
    parts.append("</quiz>\n")
    return "bench-moodle.xml", "".join(parts).encode()


BUILDERS = {"qti": qti_package, "moodlexml": moodle_xml_file}


@contextmanager
def timed(results: list, label: str):
    started = time.perf_counter()
    yield
    results.append((label, time.perf_counter() - started))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--format", choices=sorted(BUILDERS), default="qti")
    parser.add_argument("--items", type=int, default=5_000)
    parser.add_argument("--pages", action="store_true", help="also import through the pages")
    args = parser.parse_args()

    results: list[tuple[str, float]] = []
    timings: dict[str, float] = {}
    started = time.perf_counter()
    filename, data = BUILDERS[args.format](args.items)
    build_seconds = time.perf_counter() - started
    platform_bootstrap()
    try:
        with transaction.atomic():
            school = school_create(
                name="Bench Formats",
                subdomain=SUBDOMAIN,
                admin_email="admin@bench.example",
                admin_first_name="Bench",
                admin_last_name="Admin",
                admin_password="not-used-anywhere-123",
            ).school
            with schema_context(school.schema_name):
                teacher = User.objects.create_user(
                    username="teacher@bench.example", role=Role.TEACHER, password=None
                )
                with timed(results, "preview: read the file and plan every item"):
                    pending, plan = item_import_create(
                        uploaded_by=teacher, data=data, filename=filename
                    )
                timings["preview"] = results[-1][1]
                assert pending is not None, [str(problem) for problem in plan.problems[:5]]
                with timed(results, "confirm: re-plan, save images, bulk write"):
                    counts = item_import_apply(
                        item_import=pending, expected_digest=plan.digest(), user=teacher
                    )
                timings["confirm"] = results[-1][1]
                assert counts["create"] == args.items, counts
                kinds = dict(
                    Item.objects.values_list("current_version__kind")
                    .annotate(n=django.db.models.Count("id"))
                    .order_by()
                )
                if args.pages:
                    client = Client(HTTP_HOST=school.primary_host)
                    client.force_login(
                        teacher, backend="dreamseed.accounts.backends.AccountBackend"
                    )
                    client.get("/items/")
                    _name, renamed = BUILDERS[args.format](args.items, prefix="PAGES")
                    with timed(results, "pages: POST upload (-> redirect)"):
                        upload = client.post(
                            "/items/import/", {"file": SimpleUploadedFile(filename, renamed)}
                        )
                    assert upload.status_code == 302, upload.status_code
                    with timed(results, "pages: GET preview"):
                        preview = client.get(upload["Location"])
                    digest = re.search(r'name="digest" value="([0-9a-f]+)"', preview.text)
                    assert digest, (preview.status_code, preview.text[:3000])
                    with timed(results, "pages: POST confirm"):
                        confirm = client.post(upload["Location"], {"digest": digest.group(1)})
                    assert confirm.status_code == 302, confirm.status_code
            raise Rollback
    except Rollback:
        pass
    connection.set_schema_to_public()

    print(
        f"Import benchmark, format {args.format}: {args.items} items, "
        f"{len(data) / 1e6:.1f} MB file (built in {build_seconds:.1f} s)"
    )
    print(f"  created: {counts}; kinds: {kinds}")
    width = max(len(label) for label, _seconds in results)
    for label, seconds in results:
        print(f"  {label:<{width}}  {seconds:7.3f} s")
    for step in ("preview", "confirm"):
        verdict = "MET" if timings[step] < TARGET_SECONDS else "MISSED"
        print(f"  target: {step} < {TARGET_SECONDS:.0f} s: {verdict} ({timings[step]:.2f} s)")
    print("  (everything above was rolled back; image files written on confirm stay in media)")


if __name__ == "__main__":
    main()

from django.db import connection

from dreamseed.assessments.demo import DEMO_TEST, demo_assessments_seed
from dreamseed.assessments.models import Assessment, ExamSession


def test_demo_seed_creates_an_open_test_and_finished_sittings_once(world):
    connection.set_tenant(world.school)
    created = demo_assessments_seed(finished_share=1.0)
    assert created == 2  # both students of the class
    assessment = Assessment.objects.get(name=DEMO_TEST)
    sessions = ExamSession.objects.filter(assignment__assessment=assessment)
    assert sessions.count() == 2 and all(session.is_finished for session in sessions)
    assert all(8 <= session.n_items <= 15 for session in sessions)
    assert demo_assessments_seed(finished_share=1.0) == 0  # idempotent
    assert Assessment.objects.filter(name=DEMO_TEST).count() == 1

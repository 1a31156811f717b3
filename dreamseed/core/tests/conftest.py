from dreamseed.assessments.tests.conftest import make_world, world  # noqa: F401

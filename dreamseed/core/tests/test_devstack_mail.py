"""`make run` writes e-mail to .dev/mail/ (the folder the README names), and it exists."""

from pathlib import Path

from dreamseed import devstack


def test_make_run_writes_mail_to_a_folder_that_exists(monkeypatch, tmp_path):
    monkeypatch.setattr(devstack, "DEV_DIR", tmp_path)
    monkeypatch.delenv("EMAIL_BACKEND", raising=False)
    monkeypatch.delenv("EMAIL_FILE_PATH", raising=False)
    env = devstack.run_env()
    assert env["EMAIL_BACKEND"] == "django.core.mail.backends.filebased.EmailBackend"
    assert env["EMAIL_FILE_PATH"] == str(tmp_path / "mail")
    assert Path(env["EMAIL_FILE_PATH"]).is_dir()
    assert env["DEBUG"] == "1"


def test_a_backend_set_by_the_developer_is_kept(monkeypatch, tmp_path):
    monkeypatch.setattr(devstack, "DEV_DIR", tmp_path)
    monkeypatch.setenv("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
    env = devstack.run_env()
    assert env["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    assert not (tmp_path / "mail").exists()

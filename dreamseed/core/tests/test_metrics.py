from dreamseed.core.metrics import task_outcome_record


def test_metrics_show_latency_by_view_sessions_and_task_outcomes(client_for, alpha_admin, world):
    client_for(alpha_admin).get("/")  # one request to the dashboard view
    task_outcome_record("dreamseed.example.task", "success")
    response = client_for(host="10.0.0.1").get("/metrics")  # any host name; from loopback
    assert response.status_code == 200
    body = response.content.decode()
    assert (
        'dreamseed_http_request_duration_seconds_count{method="GET",status="2xx",view="dashboard"}'
        in body
    )
    assert "dreamseed_active_exam_sessions" in body
    assert 'dreamseed_celery_tasks_total{outcome="success",task="dreamseed.example.task"}' in body


def test_metrics_need_the_token_when_one_is_set(client, db, settings):
    settings.METRICS_TOKEN = "s3cret"
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret").status_code == 200


def test_metrics_refuse_remote_scrapers_without_a_token(client, db, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 403

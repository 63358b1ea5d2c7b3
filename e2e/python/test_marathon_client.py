"""Marathon's Python client (PyPI `marathon`), used unchanged against a real Pacer server, with
the effect of each call checked in /proc."""

import pytest
from marathon import MarathonApp, MarathonClient
from marathon.exceptions import MarathonHttpError, NotFoundError

from pacer_fixture import task_processes_under, wait_until

LAUNCH = 60.0


def test_app_lifecycle(pacer):
    client = MarathonClient(pacer.url)

    created = client.create_app("hello", MarathonApp(cmd="sleep 1000", cpus=0.1, mem=32, instances=2))
    assert created.id == "/hello"
    assert created.instances == 2 and created.cpus == 0.1 and created.mem == 32
    assert created.version is not None

    first = wait_until(lambda: (ids := pacer.task_ids("/hello")) and len(ids) == 2 and ids,
                       LAUNCH, "two processes with MARATHON_APP_ID=/hello")
    assert [app.id for app in client.list_apps()] == ["/hello"]
    wait_until(lambda: client.get_app("hello").tasks_running == 2, LAUNCH, "tasksRunning == 2")
    app = client.get_app("hello")
    assert app.cmd == "sleep 1000" and app.instances == 2
    assert {t.id for t in client.list_tasks("hello")} == first
    assert {t.id for t in client.list_tasks()} == first
    for task in client.list_tasks("hello"):
        assert task.app_id == "/hello" and task.state == "TASK_RUNNING" and task.started_at is not None
    wait_until(lambda: client.list_deployments() == [], LAUNCH, "the create deployment to finish")

    scaled = client.scale_app("hello", instances=3)
    assert scaled["deploymentId"]
    third = wait_until(lambda: (ids := pacer.task_ids("/hello")) and len(ids) == 3 and ids,
                       LAUNCH, "three processes after scale")
    assert first <= third, "scaling up must not restart running tasks"
    assert client.get_app("hello").instances == 3
    wait_until(lambda: client.list_deployments() == [], LAUNCH, "the scale deployment to finish")

    victim = sorted(third)[0]
    victim_pids = [pid for pid, _, task in task_processes_under(pacer.root) if task == victim]
    killed = client.kill_task("hello", victim)
    assert killed.id == victim
    wait_until(lambda: not any(pid in pacer.task_processes("/hello") for pid in victim_pids),
               LAUNCH, "the killed task's processes to end")
    wait_until(lambda: (ids := pacer.task_ids("/hello")) and len(ids) == 3 and victim not in ids,
               LAUNCH, "a replacement for the killed task")

    deleted = client.delete_app("hello")
    assert deleted["deploymentId"]
    wait_until(lambda: pacer.task_processes("/hello") == [], LAUNCH, "no /hello process after delete")
    wait_until(lambda: client.list_apps() == [], LAUNCH, "the app to be gone")
    with pytest.raises(NotFoundError):
        client.get_app("hello")


def test_info_ping_and_a_waiting_deployment(pacer):
    client = MarathonClient(pacer.url)
    info = client.get_info()
    assert info.elected is True
    assert info.leader
    assert client.ping().strip() in (b"pong", b'"pong"')

    # More CPU than any agent offers: the app is accepted, its deployment waits.
    client.create_app("big", MarathonApp(cmd="sleep 1000", cpus=10000, mem=32, instances=1))
    deployments = wait_until(lambda: client.list_deployments(), 10, "a deployment to be listed")
    assert len(deployments) == 1
    deployment = deployments[0]
    assert deployment.affected_apps == ["/big"]
    # A new app is started at scale 0, then scaled (Marathon's DeploymentPlan): the first step
    # is done at once and the deployment waits in the second.
    assert [[(a.action, a.app) for a in step.actions] for step in deployment.steps] == [
        [("StartApplication", "/big")], [("ScaleApplication", "/big")]]
    assert deployment.total_steps == 2
    wait_until(lambda: [d.current_step for d in client.list_deployments()] == [2], 10,
               "the deployment to wait in its scale step (currentStep 2)")
    assert [(a.action, a.app) for a in client.list_deployments()[0].current_actions] == [
        ("ScaleApplication", "/big")]
    assert pacer.task_processes("/big") == []


def test_errors_come_back_as_marathon_errors(pacer):
    client = MarathonClient(pacer.url)
    with pytest.raises(NotFoundError):
        client.get_app("missing")
    with pytest.raises(MarathonHttpError) as err:
        client.create_app("bad", MarathonApp(cmd="sleep 1", cpus=-1))
    assert err.value.status_code == 422
    client.create_app("twice", MarathonApp(cmd="sleep 1000", cpus=0.05, mem=16, instances=0))
    with pytest.raises(MarathonHttpError) as err:
        client.create_app("twice", MarathonApp(cmd="sleep 1000", cpus=0.05, mem=16, instances=0))
    assert err.value.status_code == 409

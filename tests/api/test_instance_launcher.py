"""The server's instance launcher across a server restart: instances keep their agents' identity
(the same container instance, connected again) and their tasks keep running."""

from __future__ import annotations

from pathlib import Path

from dockyard.testing.server import ThreadedServer
from tests.api.capacity_helpers import AMI, user_data, wait_for
from tests.conftest import make_client


def test_instances_come_back_after_a_server_restart(tmp_path: Path) -> None:
    server = ThreadedServer(data_dir=tmp_path, simulate_instances=True).start()
    try:
        ec2, ecs = make_client(server.endpoint, "ec2"), make_client(server.endpoint, "ecs")
        ecs.create_cluster(clusterName="keep")
        instance_id = ec2.run_instances(
            ImageId=AMI, InstanceType="t3.micro", MinCount=1, MaxCount=1, UserData=user_data("keep")
        )["Instances"][0]["InstanceId"]
        arn = wait_for(
            lambda: ecs.list_container_instances(cluster="keep")["containerInstanceArns"], what="registration"
        )[0]
        ecs.register_task_definition(
            family="app", containerDefinitions=[{"name": "app", "image": "busybox", "memory": 32}]
        )
        task = ecs.run_task(cluster="keep", taskDefinition="app", launchType="EC2")["tasks"][0]["taskArn"]
        wait_for(
            lambda: ecs.describe_tasks(cluster="keep", tasks=[task])["tasks"][0]["lastStatus"] == "RUNNING",
            what="RUNNING",
        )
        port = server.server.port
    finally:
        server.stop()
    server = ThreadedServer(data_dir=tmp_path, port=port, simulate_instances=True).start()
    try:
        ec2, ecs = make_client(server.endpoint, "ec2"), make_client(server.endpoint, "ecs")
        described = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
        assert described["State"]["Name"] == "running"
        assert ecs.list_container_instances(cluster="keep")["containerInstanceArns"] == [arn]
        wait_for(
            lambda: ecs.describe_container_instances(cluster="keep", containerInstances=[arn])[
                "containerInstances"
            ][0]["agentConnected"],
            what="the agent to poll again",
        )
        assert ecs.describe_tasks(cluster="keep", tasks=[task])["tasks"][0]["lastStatus"] == "RUNNING"
        ecs.stop_task(cluster="keep", task=task)
        wait_for(
            lambda: ecs.describe_tasks(cluster="keep", tasks=[task])["tasks"][0]["lastStatus"] == "STOPPED",
            what="STOPPED",
        )
        ec2.terminate_instances(InstanceIds=[instance_id])
        wait_for(
            lambda: (
                ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["State"][
                    "Name"
                ]
                == "terminated"
            ),
            what="terminated",
        )
    finally:
        server.stop()

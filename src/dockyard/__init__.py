"""Dockyard: Amazon ECS, Fargate and ECR that you can run yourself."""

__version__ = "0.1.0"

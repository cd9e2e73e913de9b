"""Amazon EC2, the subset a cluster needs: the default VPC, subnets, zones, security groups,
instance types, launch templates, tags and instances (each a local virtual host running an agent).

Importing this package registers every handler module on `api`.
"""

from dockyard.services.ec2 import (  # noqa: F401  (registration by import)
    instance_types,
    instances,
    launch_templates,
    network,
    run_instances,
    security_groups,
    tags,
)
from dockyard.services.ec2.api import api
from dockyard.services.ec2.controllers import ec2_controllers
from dockyard.services.ec2.deps import Ec2, Ec2Settings

__all__ = ["api", "Ec2", "Ec2Settings", "ec2_controllers"]

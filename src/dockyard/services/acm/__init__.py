"""AWS Certificate Manager: imported certificates (PEM, private keys sealed at rest), their
tags, and which load balancers use them (asked of ELBv2). `ServedCertificates` hands a
certificate with its key to the load balancer data plane.

Importing this package registers every handler module on `api`.
"""

from dockyard.services.acm import certificates, tags  # noqa: F401  (registration by import)
from dockyard.services.acm.api import api
from dockyard.services.acm.deps import Acm, AcmPeers
from dockyard.services.acm.resources import CERTIFICATE
from dockyard.services.acm.served import ServedCertificates

__all__ = ["api", "Acm", "AcmPeers", "CERTIFICATE", "ServedCertificates"]

"""Wire protocols: parse a request into a dict, validate it, serialize results and errors.

```
 HTTP request --parse--> dict --validate(input shape)--> handler --serialize(output shape)--> HTTP
                                                          |
                                                      AwsError --serialize_error--> HTTP
```
Each protocol (awsJson today; query/XML and rest-xml next) implements `WireProtocol`; handlers
never see which one carried the request.
"""

from dockyard.aws.protocol.base import HttpRequest, HttpResponse, WireProtocol

__all__ = ["HttpRequest", "HttpResponse", "WireProtocol"]

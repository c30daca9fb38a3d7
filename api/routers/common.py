"""Response documentation shared by the routers."""

from api.models import ErrorBody, QuotaBody

ACCESS_RESPONSES = {
    401: {"model": ErrorBody, "description": "the API key sent is not valid"},
    413: {"model": ErrorBody, "description": "the request body is too large"},
    422: {"model": ErrorBody, "description": "the request is not valid"},
    429: {"model": QuotaBody, "description": "the daily quota is used up; see Retry-After",
          "headers": {"Retry-After": {"description": "seconds until the quota resets", "schema": {"type": "integer"}}}},
    503: {"model": ErrorBody, "description": "the service is still starting"},
}

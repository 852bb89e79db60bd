"""Typed errors of projects. Each carries the HTTP status and stable code the API answers with;
the CLI prints the message."""

from petclf.errors import PetclfError


class ProjectError(PetclfError):
    status = 400
    code = "bad_request"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(ProjectError):
    status = 404
    code = "not_found"


class Invalid(ProjectError):
    status = 422
    code = "invalid"


class Conflict(ProjectError):
    status = 409
    code = "conflict"

    def __init__(self, message: str, job_id: str | None = None):
        super().__init__(message)
        self.job_id = job_id


class TooMany(ProjectError):
    """One client sent more corrections than the limit allows in a while."""

    status = 429
    code = "too_many_requests"


class ModelExists(ProjectError):
    """The original make_model's answer when a model exists and `forceful` is false."""

    status = 400
    code = "model_exists"

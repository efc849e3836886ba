"""Django's error handlers (used with DEBUG off), answering problem documents."""

from .exception_handler import INTERNAL_ERROR
from .problems import Problem, problem_response


def bad_request(request, exception=None):
    return problem_response(request, Problem("Malformed request.", status=400, code="bad_request"))


def permission_denied(request, exception=None):
    return problem_response(request, Problem("Forbidden.", status=403, code="permission_denied"))


def not_found(request, exception=None):
    return problem_response(request, Problem("No resource at this path.", status=404, code="not_found"))


def server_error(request):
    return problem_response(request, INTERNAL_ERROR)

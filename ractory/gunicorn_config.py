"""gunicorn settings shared by ``make serve``, the Docker image, the benchmark and the contract
tests (``gunicorn -c python:ractory.gunicorn_config``).

gunicorn's default request line limit (4094 bytes) answers longer URLs itself, with an HTML 414,
before Django sees them; a list request with several filters and a long search term can reach it.
8190 is the largest limit gunicorn takes short of "unlimited".
"""

limit_request_line = 8190
limit_request_field_size = 8190

"""The floor for `make bench`: a bare DRF view doing one INSERT, served only when BENCH_ENDPOINTS is on.

It authenticates like the real API and writes one row, so the ratio of the real submission rate to this
one says what the portal's own work costs on top of the framework, the database and the network.
"""

from django.db import connection
from rest_framework.response import Response
from rest_framework.views import APIView


class BareInsertView(APIView):
    def post(self, request):
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO bench_floor (payload) VALUES (%s) RETURNING id", [request.user.pk]
            )
            row_id = cursor.fetchone()[0]
        return Response({"id": row_id}, status=201)

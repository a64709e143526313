"""The ceiling: the least a DRF endpoint can do (no auth, no throttle, a constant body)."""

from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

BODY = {
    "fileId": "file_01JBENCH0000000000000000000",
    "uploadUrl": "http://127.0.0.1/uploadkit/objects/uploads/abc/photo.jpg?type=image%2Fjpeg",
    "cdnUrl": "http://127.0.0.1/uploadkit/objects/uploads/abc/photo.jpg",
    "key": "uploads/abc/photo.jpg",
}


class CeilingView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer]
    throttle_classes: list = []

    def post(self, request):
        return Response(BODY)

    def get(self, request):
        return Response(BODY)

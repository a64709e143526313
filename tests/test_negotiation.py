"""JSON is chosen at once for clients that take it, and exactly as DRF would choose it."""

import pytest
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from django_uploadkit.negotiation import JsonFirstNegotiation

RENDERERS = [JSONRenderer(), BrowsableAPIRenderer()]


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "text/html",
                                    "text/html,application/xhtml+xml,*/*;q=0.8",
                                    "application/json; indent=4", "application/*"])
@pytest.mark.parametrize("query", ["", "?format=api", "?format=json"])
def test_the_choice_is_drfs_own(accept, query):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(APIRequestFactory().get("/api/v1/files" + query, **headers))
    assert choice(JsonFirstNegotiation(), request) == choice(DefaultContentNegotiation(), request)


def choice(negotiation, request):
    try:
        renderer, media_type = negotiation.select_renderer(request, RENDERERS)
    except NotAcceptable:
        return "406"
    return type(renderer), media_type


def test_a_browser_still_gets_the_browsable_api(api):
    response = api.get("/api/v1/files", HTTP_ACCEPT="text/html")
    assert response["Content-Type"].startswith("text/html")
    assert api.get("/api/v1/files")["Content-Type"] == "application/json"

from __future__ import annotations

import re

import pytest
from django.test import Client

from tunix_rt import __version__


@pytest.mark.django_db
def test_landing_page_names_the_server_and_links_where_to_go(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert "<h1>tunix-rt</h1>" in body
    assert f"version {__version__}" in body
    hrefs = set(re.findall(r'href="([^"]+)"', body))
    assert {"/admin/", "/api/docs", "/api/schema", "/api/", "/api/health", "/static/tunix_rt/favicon.svg"} <= hrefs
    assert "<script" not in body


def test_landing_page_refuses_writes(client: Client) -> None:
    assert client.post("/").status_code == 405


def test_favicon_ico_leads_to_the_svg_icon(client: Client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == "/static/tunix_rt/favicon.svg"
    icon = client.get(response["Location"])
    assert icon.status_code == 200
    assert icon.getvalue().startswith(b"<svg")


@pytest.mark.django_db
def test_admin_pages_carry_the_product_name_icon_and_a_view_site_link_home(admin_client: Client) -> None:
    body = admin_client.get("/admin/").content.decode()
    assert '<div id="site-name"><a href="/admin/">tunix-rt</a></div>' in body
    assert "Django administration" not in body
    assert "<title>Traces, datasets and runs | tunix-rt admin</title>" in body
    assert '<a href="/">View site</a>' in body
    assert '<link rel="icon" href="/static/tunix_rt/favicon.svg" type="image/svg+xml">' in body
